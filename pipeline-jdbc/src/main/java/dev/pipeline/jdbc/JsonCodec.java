package dev.pipeline.jdbc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.pipeline.store.PayloadCodec;
import java.io.IOException;
import java.util.Objects;

/**
 * Stores records and POJOs (Java records included) as JSON, with Jackson.
 *
 * <pre>{@code
 * Pipeline.builder("equipment", RawListing.class)
 *     .inputCodec(JsonCodec.of(RawListing.class))
 *     .stage(CLEANING, Cleaner::clean, s -> s.checkpoint().codec(JsonCodec.of(Listing.class)))
 * }</pre>
 *
 * <p>Safe with stored data: the mapper never takes a class name from the JSON (no default typing; a
 * mapper with default typing is refused), so bytes in the database cannot make it instantiate
 * arbitrary classes. Unknown properties are ignored, so payloads written by an older version of a
 * class (with a field since removed) still read back after an upgrade. The default mapper registers
 * the Jackson modules found on the class path (e.g. {@code jackson-datatype-jsr310} for {@code
 * java.time} fields).
 *
 * <p>Needs {@code com.fasterxml.jackson.core:jackson-databind}, an optional dependency of
 * pipeline-jdbc; on the module path, open the payload classes' package to {@code
 * com.fasterxml.jackson.databind}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param <T> the payload type
 */
public final class JsonCodec<T> implements PayloadCodec<T> {
  private final Class<T> type;
  private final ObjectReader reader;
  private final ObjectWriter writer;

  private JsonCodec(Class<T> type, ObjectMapper mapper) {
    this.type = type;
    JavaType javaType = mapper.constructType(type);
    if (mapper.getDeserializationConfig().getDefaultTyper(javaType) != null) {
      throw new IllegalArgumentException(
          "JsonCodec refuses an ObjectMapper with default typing: it would take class names from"
              + " stored JSON. Use a mapper without activateDefaultTyping(...)");
    }
    this.reader = mapper.readerFor(javaType);
    this.writer = mapper.writerFor(javaType);
  }

  /**
   * A codec for a type, with a mapper that ignores unknown properties.
   *
   * @throws NullPointerException if the type is null
   * @throws IllegalStateException if Jackson is not on the class path
   */
  public static <T> JsonCodec<T> of(Class<T> type) {
    Objects.requireNonNull(type, "type cannot be null");
    requireJackson();
    return new JsonCodec<>(type, DefaultMapper.INSTANCE);
  }

  /**
   * A codec for a type, with the caller's mapper (its configuration is read now; later changes to
   * it do not affect the codec).
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the mapper has default typing enabled
   */
  public static <T> JsonCodec<T> of(Class<T> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type cannot be null");
    Objects.requireNonNull(mapper, "mapper cannot be null");
    return new JsonCodec<>(type, mapper);
  }

  private static void requireJackson() {
    try {
      Class.forName(
          "com.fasterxml.jackson.databind.ObjectMapper", false, JsonCodec.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalStateException(
          "JsonCodec needs Jackson: add com.fasterxml.jackson.core:jackson-databind to the"
              + " dependencies (pipeline-jdbc declares it optional)",
          e);
    }
  }

  /** The payload type. */
  public Class<T> type() {
    return type;
  }

  /** {@code "json:"} and the payload class's name. */
  @Override
  public String name() {
    return "json:" + type.getName();
  }

  /**
   * Writes a payload as UTF-8 JSON.
   *
   * @throws IllegalArgumentException if Jackson cannot write it
   */
  @Override
  public byte[] encode(T payload) {
    Objects.requireNonNull(payload, "payload cannot be null");
    try {
      return writer.writeValueAsBytes(payload);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "cannot write a " + type.getName() + " as JSON: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * Reads a payload from JSON.
   *
   * @throws IllegalArgumentException if the bytes are not JSON of this type
   */
  @Override
  public T decode(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes cannot be null");
    try {
      T value = reader.readValue(bytes);
      if (value == null) {
        throw new IllegalArgumentException("stored JSON is null, not a " + type.getName());
      }
      return value;
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cannot read a " + type.getName() + " from stored JSON: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "JsonCodec[" + type.getName() + "]";
  }

  /** The default mapper, made on first use so that a missing Jackson fails with a clear message. */
  private static final class DefaultMapper {
    static final ObjectMapper INSTANCE =
        JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .findAndAddModules()
            .build();
  }
}
