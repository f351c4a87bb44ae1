package dev.pipeline.jdbc;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DatabindException;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.deser.BasicDeserializerFactory;
import com.fasterxml.jackson.databind.deser.DeserializerFactory;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.jsontype.NamedType;
import com.fasterxml.jackson.databind.jsontype.PolymorphicTypeValidator;
import com.fasterxml.jackson.databind.jsontype.TypeDeserializer;
import com.fasterxml.jackson.databind.jsontype.impl.ClassNameIdResolver;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The Jackson half of {@link JsonCodec}: every reference to a Jackson type lives here, so that
 * {@code JsonCodec} links without Jackson and can say that it is missing.
 */
final class JacksonJson<T> {
  private final Class<T> type;
  private final ObjectReader reader;
  private final ObjectWriter writer;

  JacksonJson(Class<T> type, ObjectMapper mapper) {
    this.type = type;
    JavaType javaType = mapper.constructType(type);
    if (mapper.getDeserializationConfig().getDefaultTyper(javaType) != null) {
      throw new IllegalArgumentException(
          "JsonCodec refuses an ObjectMapper with default typing: it would take class names from"
              + " stored JSON. Use a mapper without activateDefaultTyping(...)");
    }
    refuseClassNames(mapper, javaType);
    this.reader = mapper.readerFor(javaType);
    this.writer = mapper.writerFor(javaType);
  }

  static <T> JacksonJson<T> withDefaultMapper(Class<T> type) {
    return new JacksonJson<>(type, DefaultMapper.INSTANCE);
  }

  byte[] encode(T payload) {
    try {
      return writer.writeValueAsBytes(payload);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "cannot write a " + type.getName() + " as JSON: " + e.getOriginalMessage(), e);
    }
  }

  T decode(byte[] bytes) {
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

  /**
   * Refuses a payload type that Jackson would read with a class name taken from the data, anywhere
   * in it: walks the type, the properties Jackson would deserialize (their declared types,
   * collection and map elements, and the subtypes registered for a polymorphic type), asking
   * Jackson's own deserializer factory which type id each would be read with.
   */
  private static void refuseClassNames(ObjectMapper mapper, JavaType root) {
    DeserializationConfig config = mapper.getDeserializationConfig();
    DeserializerFactory factory = mapper.getDeserializationContext().getFactory();
    Deque<JavaType> todo = new ArrayDeque<>();
    Set<JavaType> seen = new HashSet<>();
    todo.add(root);
    try {
      TypeDeserializer rootTyping = factory.findTypeDeserializer(config, root);
      refuse(rootTyping, root, null, null, root);
      while (!todo.isEmpty()) {
        JavaType type = todo.poll();
        if (!seen.add(type)) {
          continue;
        }
        if (type.isContainerType() || type.isReferenceType()) {
          JavaType content = type.getContentType();
          refuse(factory.findTypeDeserializer(config, content), root, null, null, content);
          todo.add(content);
          continue;
        }
        if (!ownType(type)) {
          continue;
        }
        BeanDescription bean = config.introspect(type);
        for (BeanPropertyDefinition p : bean.findProperties()) {
          AnnotatedMember member = p.getPrimaryMember();
          JavaType declared = p.getPrimaryType();
          if (member == null || declared == null) {
            continue;
          }
          // as Jackson reads it: @JsonDeserialize(as = ..., contentAs = ...) narrows the type
          JavaType propertyType =
              config
                  .getAnnotationIntrospector()
                  .refineDeserializationType(config, member, declared);
          if (factory instanceof BasicDeserializerFactory basic) {
            refuse(
                basic.findPropertyTypeDeserializer(config, propertyType, member),
                root,
                type,
                p.getName(),
                propertyType);
            if (propertyType.isContainerType() || propertyType.isReferenceType()) {
              refuse(
                  basic.findPropertyContentTypeDeserializer(config, propertyType, member),
                  root,
                  type,
                  p.getName(),
                  propertyType.getContentType());
            }
          }
          todo.add(propertyType);
        }
        if (factory.findTypeDeserializer(config, type) != null) {
          for (NamedType subtype :
              config
                  .getSubtypeResolver()
                  .collectAndResolveSubtypesByClass(config, bean.getClassInfo())) {
            if (subtype.getType() != type.getRawClass()) {
              todo.add(config.constructType(subtype.getType()));
            }
          }
        }
      }
    } catch (DatabindException e) {
      throw new IllegalArgumentException(
          "JsonCodec cannot inspect " + root.getRawClass().getName() + ": " + e.getMessage(), e);
    }
  }

  /** Whether a type's properties can carry Jackson annotations of the user's (not the JDK's). */
  private static boolean ownType(JavaType type) {
    if (type.isPrimitive() || type.isEnumType() || type.isJavaLangObject()) {
      return false;
    }
    String name = type.getRawClass().getName();
    return !name.startsWith("java.")
        && !name.startsWith("javax.")
        && !name.startsWith("com.fasterxml.jackson.");
  }

  private static void refuse(
      @Nullable TypeDeserializer typing,
      JavaType root,
      @Nullable JavaType owner,
      @Nullable String property,
      JavaType typed) {
    if (typing == null) {
      return;
    }
    JsonTypeInfo.Id id = typing.getTypeIdResolver().getMechanism();
    if (id != JsonTypeInfo.Id.CLASS
        && id != JsonTypeInfo.Id.MINIMAL_CLASS
        && !(typing.getTypeIdResolver() instanceof ClassNameIdResolver)) {
      return;
    }
    String where =
        owner == null
            ? typed.equals(root) ? "the payload type itself" : "type " + typed.toCanonical()
            : "property '"
                + property
                + "' of "
                + owner.getRawClass().getName()
                + " (type "
                + typed.toCanonical()
                + ")";
    throw new IllegalArgumentException(
        "JsonCodec refuses payload type "
            + root.getRawClass().getName()
            + ": "
            + where
            + " is read with @JsonTypeInfo(use = JsonTypeInfo.Id."
            + id
            + "), which builds whatever class the stored JSON names. Use @JsonTypeInfo(use ="
            + " JsonTypeInfo.Id.NAME) with the subtypes registered (@JsonSubTypes, or"
            + " mapper.registerSubtypes(...)) instead");
  }

  /** The default mapper, made on first use so that a missing Jackson fails with a clear message. */
  private static final class DefaultMapper {
    static final ObjectMapper INSTANCE =
        JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .polymorphicTypeValidator(new NoClassNames())
            .findAndAddModules()
            .build();
  }

  /** Allows no class name from the data: what the check at codec creation missed fails, too. */
  private static final class NoClassNames extends PolymorphicTypeValidator.Base {
    private static final long serialVersionUID = 1L;

    @Override
    public Validity validateBaseType(MapperConfig<?> config, JavaType baseType) {
      return Validity.INDETERMINATE; // each name is refused below
    }

    @Override
    public Validity validateSubClassName(MapperConfig<?> config, JavaType baseType, String name) {
      return Validity.DENIED;
    }

    @Override
    public Validity validateSubType(MapperConfig<?> config, JavaType baseType, JavaType subType) {
      return Validity.DENIED;
    }
  }
}
