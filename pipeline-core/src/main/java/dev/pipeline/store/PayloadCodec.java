package dev.pipeline.store;

import java.nio.charset.StandardCharsets;

/**
 * Turns a payload into bytes and back, for stores that persist payloads (ingested records,
 * checkpoints, dead letters). Never Java serialization: bytes a store keeps must be safe to read
 * back after an upgrade and must not be able to instantiate arbitrary classes.
 *
 * <p>Implementations are immutable and thread-safe.
 *
 * @param <T> the payload type
 */
public interface PayloadCodec<T> {

  /**
   * A short name of the format, kept with the stage definition (e.g. "string", "bytes",
   * "json:com.example.Listing").
   */
  String name();

  /**
   * Encodes a payload.
   *
   * @throws IllegalArgumentException if the payload cannot be encoded
   */
  byte[] encode(T payload);

  /**
   * Decodes a payload.
   *
   * @throws IllegalArgumentException if the bytes are not a payload of this codec
   */
  T decode(byte[] bytes);

  /** UTF-8 text. */
  static PayloadCodec<String> string() {
    return BuiltInCodecs.STRING;
  }

  /** Bytes as they are. */
  static PayloadCodec<byte[]> bytes() {
    return BuiltInCodecs.BYTES;
  }

  /** The built-in codec for a type, if there is one (String and byte[]), else null. */
  @SuppressWarnings("unchecked")
  static <T> @org.jspecify.annotations.Nullable PayloadCodec<T> builtIn(Class<T> type) {
    if (type == String.class) {
      return (PayloadCodec<T>) string();
    }
    if (type == byte[].class) {
      return (PayloadCodec<T>) bytes();
    }
    return null;
  }
}

/** The codecs core provides. */
final class BuiltInCodecs {
  static final PayloadCodec<String> STRING =
      new PayloadCodec<>() {
        @Override
        public String name() {
          return "string";
        }

        @Override
        public byte[] encode(String payload) {
          return payload.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String decode(byte[] bytes) {
          return new String(bytes, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
          return "PayloadCodec.string()";
        }
      };

  static final PayloadCodec<byte[]> BYTES =
      new PayloadCodec<>() {
        @Override
        public String name() {
          return "bytes";
        }

        @Override
        public byte[] encode(byte[] payload) {
          return payload.clone();
        }

        @Override
        public byte[] decode(byte[] bytes) {
          return bytes.clone();
        }

        @Override
        public String toString() {
          return "PayloadCodec.bytes()";
        }
      };

  private BuiltInCodecs() {}
}
