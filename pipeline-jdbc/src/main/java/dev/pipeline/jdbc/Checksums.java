package dev.pipeline.jdbc;

import java.util.zip.CRC32C;

/**
 * The checksum kept with each payload: CRC32C.
 *
 * <p>Why CRC32C and not SHA-256: the checksum guards against accidental damage between writing a
 * payload and reading it back (a truncated or bit-flipped value, a wrong encoding, a hand edit gone
 * wrong), not against an attacker, who could rewrite the checksum column as easily as the payload.
 * CRC32C detects every burst error up to 32 bits and all but 2^-32 of the others, runs on a CPU
 * instruction (several GB/s, in the JDK since 9), and takes 4 bytes a row; SHA-256 costs roughly
 * ten times the CPU on the write path of every record for no gain against either threat.
 */
final class Checksums {
  private Checksums() {}

  static long crc32c(byte[] bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    return crc.getValue();
  }

  /** The checksum of a stored payload: its bytes, then its metadata text if any. */
  static long payload(byte[] payload, byte[] metadata) {
    CRC32C crc = new CRC32C();
    crc.update(payload);
    if (metadata.length > 0) {
      crc.update(0);
      crc.update(metadata);
    }
    return crc.getValue();
  }
}
