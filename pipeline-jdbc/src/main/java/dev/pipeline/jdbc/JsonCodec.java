package dev.pipeline.jdbc;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeline.store.PayloadCodec;
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
 * <p>Safe with stored data: no class is ever built from a name in the JSON. A mapper with default
 * typing is refused, and so is a payload type that Jackson would read with a class name from the
 * data anywhere in it: the type itself, a property, a collection's or map's elements, a registered
 * subtype or a property's type, however deep, annotated {@code @JsonTypeInfo(use =
 * JsonTypeInfo.Id.CLASS)} or {@code MINIMAL_CLASS} (directly or through a mix-in). Use {@code
 * JsonTypeInfo.Id.NAME} with the subtypes registered ({@code @JsonSubTypes} or {@code
 * mapper.registerSubtypes(...)}) instead. The default mapper also refuses every class name at read
 * time (its polymorphic type validator allows none), so what the check at creation could miss still
 * fails rather than instantiates. Unknown properties are ignored, so payloads written by an older
 * version of a class (with a field since removed) still read back after an upgrade. The default
 * mapper registers the Jackson modules found on the class path (e.g. {@code
 * jackson-datatype-jsr310} for {@code java.time} fields).
 *
 * <p>Needs {@code com.fasterxml.jackson.core:jackson-databind}, an optional dependency of
 * pipeline-jdbc that the application adds itself; without it {@link #of(Class)} throws {@link
 * IllegalStateException}. On the module path, the application's module also {@code requires
 * com.fasterxml.jackson.databind} and opens the payload classes' package to it.
 *
 * <p>Immutable and thread-safe.
 *
 * @param <T> the payload type
 */
public final class JsonCodec<T> implements PayloadCodec<T> {
  static final String JACKSON_CLASS = "com.fasterxml.jackson.databind.ObjectMapper";

  private final Class<T> type;
  // every use of a Jackson type is in JacksonJson, loaded only once Jackson is known to be there:
  // this class must link without Jackson so that of(Class) can say what is missing
  private final JacksonJson<T> json;

  private JsonCodec(Class<T> type, JacksonJson<T> json) {
    this.type = type;
    this.json = json;
  }

  /**
   * A codec for a type, with a mapper that ignores unknown properties.
   *
   * @throws NullPointerException if the type is null
   * @throws IllegalArgumentException if the type would be read with a class name from the data (see
   *     above)
   * @throws IllegalStateException if Jackson ({@code com.fasterxml.jackson.core:jackson-databind})
   *     is not on the class path or in the module layer
   */
  public static <T> JsonCodec<T> of(Class<T> type) {
    Objects.requireNonNull(type, "type cannot be null");
    requireJackson(JsonCodec.class.getClassLoader());
    return new JsonCodec<>(type, JacksonJson.withDefaultMapper(type));
  }

  /**
   * A codec for a type, with the caller's mapper (its configuration is read now; later changes to
   * it do not affect the codec).
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the mapper has default typing enabled, or the type would be
   *     read with a class name from the data (see above)
   */
  public static <T> JsonCodec<T> of(Class<T> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type cannot be null");
    Objects.requireNonNull(mapper, "mapper cannot be null");
    return new JsonCodec<>(type, new JacksonJson<>(type, mapper));
  }

  /**
   * Checks that Jackson can be loaded, without touching a Jackson type: on the module path {@code
   * requires static} leaves Jackson out of the layer unless the application requires it.
   */
  static void requireJackson(ClassLoader loader) {
    try {
      Class.forName(JACKSON_CLASS, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalStateException(
          "JsonCodec needs Jackson, which is not on the class path: add the dependency"
              + " com.fasterxml.jackson.core:jackson-databind (Maven: <groupId>com.fasterxml"
              + ".jackson.core</groupId><artifactId>jackson-databind</artifactId>; pipeline-jdbc"
              + " declares it optional, so it is not added for you); on the module path, also add"
              + " 'requires com.fasterxml.jackson.databind' to your module-info.java",
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
   * @throws NullPointerException if the payload is null
   * @throws IllegalArgumentException if Jackson cannot write it
   */
  @Override
  public byte[] encode(T payload) {
    Objects.requireNonNull(payload, "payload cannot be null");
    return json.encode(payload);
  }

  /**
   * Reads a payload from JSON.
   *
   * @throws NullPointerException if the bytes are null
   * @throws IllegalArgumentException if the bytes are not JSON of this type
   */
  @Override
  public T decode(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes cannot be null");
    return json.decode(bytes);
  }

  @Override
  public String toString() {
    return "JsonCodec[" + type.getName() + "]";
  }
}
