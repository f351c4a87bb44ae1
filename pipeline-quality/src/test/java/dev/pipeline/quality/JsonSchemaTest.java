package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.OutputShapeException;
import dev.pipeline.StageName;
import dev.pipeline.testkit.StageTester;
import dev.pipeline.testkit.StderrCapture;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * JSON Schema of map payloads: checked with the record's shape, never fetching, never backtracking.
 */
class JsonSchemaTest {
  private static final String LISTING =
      """
      {"type": "object",
       "required": ["id", "price"],
       "properties": {
         "id": {"type": "string", "pattern": "^L-[0-9]+$"},
         "price": {"type": "number", "minimum": 0},
         "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3}}}
      """;

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static QualityGate<Map<String, Object>> gate(String schema) {
    return (QualityGate) QualityGate.of(Map.class).jsonSchema(schema).build();
  }

  @Test
  void aMapThatBreaksTheSchemaIsDeadLetteredNamingWhereAndWhy() {
    var t = StageTester.of(gate(LISTING));
    assertThat(t.run(Map.of("id", "L-12", "price", 10.5)).isPassed()).isTrue();

    var bad = t.run(Map.of("id", "x-12", "price", -3, "tags", java.util.List.of(1, "a")));
    assertThat(bad.isFailed()).isTrue();
    assertThat(bad.failure())
        .isInstanceOf(QualityViolationException.class)
        .hasMessageContaining(QualityGate.SCHEMA_RULE)
        .hasMessageContaining("JSON Schema: ")
        .hasMessageContaining("/id")
        .hasMessageContaining("/price");
    assertThat(t.run(Map.of("id", "L-1")).failure().getMessage()).contains("price");
  }

  @Test
  void anyStageChecksItsOutputsAgainstASchemaAtItsTransition() {
    JsonSchemaOutputCheck schema = JsonSchemaOutputCheck.of(LISTING);
    var t =
        StageTester.of((Map<String, Object> m) -> m)
            .stageName(StageName.EXTRACTION)
            .options(o -> o.outputCheck(schema));

    assertThat(t.run(Map.of("id", "L-12", "price", 10.5)).isPassed()).isTrue();
    var bad = t.run("r-9", Map.of("id", "L-12", "price", -3));
    assertThat(bad.failure())
        .isInstanceOf(OutputShapeException.class)
        .hasMessageContaining("stage 'extraction' returned an output its output check refuses:")
        .hasMessageContaining("JSON Schema: /price")
        .hasMessageContaining("record 'r-9'");
    assertThatThrownBy(() -> JsonSchemaOutputCheck.of("{\"type\": "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("JSON Schema cannot be used");
  }

  @Test
  void hostileSchemasAreRefusedOrHarmless() {
    try (StderrCapture log = new StderrCapture()) {
      assertThatThrownBy(() -> gate("{\"type\": "))
          .isInstanceOf(InvalidRuleException.class)
          .hasMessageContaining("JSON Schema cannot be used");
      // the schema library logs its own failure as well, before the gate refuses the schema
      assertThat(log.text()).contains("ERROR com.networknt.schema", "Failed to load json schema");
    }
    assertThatThrownBy(() -> gate("{\"x\": \"" + "a".repeat(100_001) + "\"}"))
        .hasMessageContaining("over 100000");
    assertThatThrownBy(() -> QualityGate.of(Listing.class).jsonSchema(LISTING).build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("map or JSON-tree payloads, not dev.pipeline.quality.Listing");

    // a pattern that backtracks for ever in java.util.regex runs on RE2/J in linear time
    var evil = StageTester.of(gate("{\"properties\": {\"t\": {\"pattern\": \"^(a+)+$\"}}}"));
    long start = System.nanoTime();
    assertThat(evil.run(Map.of("t", "a".repeat(100_000) + "!")).isFailed()).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));

    // a remote reference is not fetched: the schema fails rather than reaching the network
    var remote = StageTester.of(gate("{\"$ref\": \"http://127.0.0.1:9/never-fetched.json\"}"));
    assertThat(remote.run(Map.of("a", 1)).isPassed()).isFalse();
  }
}
