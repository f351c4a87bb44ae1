package dev.pipeline.quality;

import dev.pipeline.OutputCheck;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A JSON Schema (draft 2020-12) that every output of a stage must match, checked at the stage's
 * transition to the next: {@code s.outputCheck(JsonSchemaOutputCheck.of(schema))} on the stage's
 * options. For map and JSON-tree ({@code JsonNode}) payloads, and any other that Jackson turns into
 * a tree. No remote schema is fetched and {@code pattern} keywords run on RE2/J (linear time). An
 * output that does not match fails its call with an {@link dev.pipeline.OutputShapeException}
 * naming its first three errors; the stage's policies then decide (retry, fallback, dead letter
 * queue), as for any failed call. A quality gate's {@code jsonSchema(...)} checks the same way and
 * counts the failures in its scores. Immutable and thread-safe.
 */
public final class JsonSchemaOutputCheck implements OutputCheck {
  private final JsonSchemaCheck schema;

  private JsonSchemaOutputCheck(JsonSchemaCheck schema) {
    this.schema = schema;
  }

  /**
   * Compiles a schema, at most {@value JsonSchemaCheck#MAX_SCHEMA_CHARS} characters of JSON.
   *
   * @throws NullPointerException if {@code schemaText} is null
   * @throws IllegalArgumentException if the schema is too long, not JSON, not a valid schema, or
   *     holds a pattern RE2/J cannot run
   */
  public static JsonSchemaOutputCheck of(String schemaText) {
    return new JsonSchemaOutputCheck(
        JsonSchemaCheck.compile(Objects.requireNonNull(schemaText, "schemaText cannot be null")));
  }

  @Override
  public @Nullable String problem(Object output) {
    return schema.test(output);
  }

  @Override
  public String toString() {
    return "JsonSchemaOutputCheck";
  }
}
