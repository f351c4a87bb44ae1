package dev.pipeline.quality;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaException;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialects;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A JSON Schema (draft 2020-12) that map and JSON-tree payloads must match, checked with
 * networknt's json-schema-validator: no remote schema is ever fetched, and {@code pattern} keywords
 * run on RE2/J (linear time), so a hostile schema can neither reach the network nor backtrack for
 * ever. Thread-safe once built.
 */
final class JsonSchemaCheck {
  /** The longest schema text accepted. */
  static final int MAX_SCHEMA_CHARS = 100_000;

  /** Errors named per failing record. */
  private static final int ERRORS_SHOWN = 3;

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Schema schema;

  private JsonSchemaCheck(Schema schema) {
    this.schema = schema;
  }

  /**
   * Compiles a schema.
   *
   * @throws IllegalArgumentException if it is too long, not JSON, not a valid schema, or holds a
   *     pattern RE2/J cannot run
   */
  static JsonSchemaCheck compile(String text) {
    if (text.length() > MAX_SCHEMA_CHARS) {
      throw new IllegalArgumentException(
          "the JSON Schema is " + text.length() + " characters, over " + MAX_SCHEMA_CHARS);
    }
    SchemaRegistryConfig config =
        SchemaRegistryConfig.builder()
            .regularExpressionFactory(JsonSchemaCheck::re2)
            .preloadSchema(true)
            .build();
    SchemaRegistry registry =
        SchemaRegistry.withDialect(
            Dialects.getDraft202012(),
            b ->
                b.schemaRegistryConfig(config)
                    .schemaLoader(loader -> loader.fetchRemoteResources(false)));
    try {
      return new JsonSchemaCheck(registry.getSchema(text));
    } catch (SchemaException | PatternSyntaxException | IllegalStateException e) {
      throw new IllegalArgumentException(
          "the JSON Schema cannot be used: "
              + QualityText.bounded(String.valueOf(e.getMessage()), 300));
    }
  }

  private static com.networknt.schema.regex.RegularExpression re2(String regex) {
    Pattern p = Pattern.compile(regex);
    return text -> p.matcher(text).find();
  }

  /** Null if {@code payload} matches, else its first errors. */
  @Nullable String test(Object payload) {
    JsonNode node = payload instanceof JsonNode tree ? tree : MAPPER.valueToTree(payload);
    List<Error> errors = schema.validate(node);
    if (errors.isEmpty()) {
      return null;
    }
    StringBuilder s = new StringBuilder("JSON Schema: ");
    for (int i = 0; i < Math.min(ERRORS_SHOWN, errors.size()); i++) {
      Error e = errors.get(i);
      s.append(i == 0 ? "" : "; ")
          .append(e.getInstanceLocation())
          .append(' ')
          .append(e.getMessage());
    }
    if (errors.size() > ERRORS_SHOWN) {
      s.append("; and ").append(errors.size() - ERRORS_SHOWN).append(" more");
    }
    return QualityText.bounded(s.toString(), 500);
  }
}
