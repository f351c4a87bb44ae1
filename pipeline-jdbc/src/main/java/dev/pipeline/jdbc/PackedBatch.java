package dev.pipeline.jdbc;

import dev.pipeline.jdbc.BatchLedger.Entry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A batch's records packed into one value for {@code pipeline_batches.payloads}: a layout version,
 * then each record's place in the batch, id, payload, checksum and metadata, lengths first.
 */
final class PackedBatch {
  /** Version of the packed payloads' layout. */
  private static final int PACK_VERSION = 1;

  private PackedBatch() {}

  /** Packs a batch's entries into one value. */
  static byte[] pack(List<Entry> entries) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + entries.size() * 256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeInt(PACK_VERSION);
      out.writeInt(entries.size());
      for (Entry e : entries) {
        out.writeInt(e.seq());
        writeText(out, e.id());
        out.writeInt(e.payload().length);
        out.write(e.payload());
        out.writeLong(e.checksum());
        writeText(out, e.metadata());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /**
   * Unpacks a batch's entries.
   *
   * @throws IllegalArgumentException if the value is not a packed batch this version can read
   */
  static List<Entry> unpack(byte[] packed) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(packed))) {
      int version = in.readInt();
      if (version != PACK_VERSION) {
        throw new IllegalArgumentException("packed batch of unknown layout version " + version);
      }
      int n = in.readInt();
      if (n < 0 || n > packed.length) {
        throw new IllegalArgumentException("packed batch says it holds " + n + " records");
      }
      List<Entry> entries = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        int seq = in.readInt();
        String id = readText(in);
        int length = in.readInt();
        if (length < 0 || length > in.available()) {
          throw new IllegalArgumentException("packed batch is cut short at record " + i);
        }
        byte[] payload = in.readNBytes(length);
        long checksum = in.readLong();
        String metadata = readText(in);
        if (id == null) {
          throw new IllegalArgumentException("packed batch has a record without an id");
        }
        entries.add(new Entry(seq, id, payload, checksum, metadata));
      }
      return entries;
    } catch (IOException e) {
      throw new IllegalArgumentException("packed batch is cut short", e);
    }
  }

  private static void writeText(DataOutputStream out, @Nullable String text) throws IOException {
    if (text == null) {
      out.writeInt(-1);
      return;
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static @Nullable String readText(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 0) {
      return null;
    }
    if (length > in.available()) {
      throw new IOException("text longer than what is left");
    }
    return new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }
}
