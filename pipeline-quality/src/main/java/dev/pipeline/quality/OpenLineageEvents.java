package dev.pipeline.quality;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pipeline.RunResult;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The JSON of the OpenLineage run events {@link OpenLineage} sends (spec 2-0-2): one run's START,
 * then its COMPLETE, FAIL or ABORT, with the facets of the spec's core that the run's figures fill.
 * Stateless and thread-safe.
 */
final class OpenLineageEvents {
  static final String SCHEMA_URL =
      "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
  static final String ASSERTIONS_URL =
      "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json"
          + "#/$defs/DataQualityAssertionsDatasetFacet";
  static final String OUTPUT_STATISTICS_URL =
      "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json"
          + "#/$defs/OutputStatisticsOutputDatasetFacet";
  static final String ERROR_URL =
      "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json"
          + "#/$defs/ErrorMessageRunFacet";

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A dataset as OpenLineage names it. */
  record Dataset(String namespace, String name) {}

  /** A rule's verdict over a run: whether no record failed it. */
  record Verdict(String rule, @Nullable String field, boolean success) {}

  private final String producer;
  private final String namespace;
  private final List<Dataset> inputs;
  private final List<Dataset> outputs;

  OpenLineageEvents(
      String producer, String namespace, List<Dataset> inputs, List<Dataset> outputs) {
    this.producer = producer;
    this.namespace = namespace;
    this.inputs = List.copyOf(inputs);
    this.outputs = List.copyOf(outputs);
  }

  /** The START event of a run. */
  String start(UUID runId, String job, Instant at) {
    return event("START", runId, job, at, null, List.of(), null).toString();
  }

  /**
   * The event that ends a run: COMPLETE, FAIL (with an error facet naming the failure's type, never
   * its message, which may hold secrets) or ABORT (cancelled), the rules' verdicts on the inputs
   * and the records published as the outputs' row count.
   */
  String end(UUID runId, RunResult result, Instant at, List<Verdict> verdicts) {
    String type =
        switch (result.status()) {
          case COMPLETED -> "COMPLETE";
          case CANCELLED -> "ABORT";
          default -> "FAIL";
        };
    String error = null;
    if (type.equals("FAIL")) {
      Throwable failure = result.failure();
      error =
          "pipeline '"
              + result.pipeline()
              + "' failed"
              + (failure != null ? ": " + failure.getClass().getName() : "")
              + (result.sourceErrors().isEmpty()
                  ? ""
                  : "; " + result.sourceErrors().size() + " source(s) failed to read")
              + " (details in the pipeline's log)";
    }
    return event(type, runId, result.pipeline(), at, error, verdicts, result.published())
        .toString();
  }

  /** The event of a run that threw instead of returning a result. */
  String thrown(UUID runId, String job, Instant at, Throwable thrown) {
    String error =
        "pipeline '" + job + "' threw " + thrown.getClass().getName() + " (details in its log)";
    return event("FAIL", runId, job, at, error, List.of(), null).toString();
  }

  private ObjectNode event(
      String type,
      UUID runId,
      String job,
      Instant at,
      @Nullable String error,
      List<Verdict> verdicts,
      @Nullable Long published) {
    ObjectNode e = JSON.createObjectNode();
    e.put("eventType", type);
    e.put("eventTime", at.truncatedTo(ChronoUnit.MILLIS).toString());
    ObjectNode run = e.putObject("run");
    run.put("runId", runId.toString());
    if (error != null) {
      ObjectNode facet = facet(run.putObject("facets"), "errorMessage", ERROR_URL);
      facet.put("message", error);
      facet.put("programmingLanguage", "JAVA");
    }
    ObjectNode jobNode = e.putObject("job");
    jobNode.put("namespace", namespace);
    jobNode.put("name", job);
    ArrayNode in = e.putArray("inputs");
    for (Dataset d : inputs) {
      ObjectNode node = dataset(in, d);
      if (!verdicts.isEmpty()) {
        ObjectNode facet =
            facet(node.putObject("inputFacets"), "dataQualityAssertions", ASSERTIONS_URL);
        ArrayNode assertions = facet.putArray("assertions");
        for (Verdict v : verdicts) {
          ObjectNode a = assertions.addObject();
          a.put("assertion", v.rule());
          a.put("success", v.success());
          if (v.field() != null) {
            a.put("column", v.field());
          }
        }
      }
    }
    ArrayNode out = e.putArray("outputs");
    for (Dataset d : outputs) {
      ObjectNode node = dataset(out, d);
      if (published != null) {
        facet(node.putObject("outputFacets"), "outputStatistics", OUTPUT_STATISTICS_URL)
            .put("rowCount", published);
      }
    }
    e.put("producer", producer);
    e.put("schemaURL", SCHEMA_URL);
    return e;
  }

  private static ObjectNode dataset(ArrayNode list, Dataset d) {
    ObjectNode node = list.addObject();
    node.put("namespace", d.namespace());
    node.put("name", d.name());
    return node;
  }

  private ObjectNode facet(ObjectNode facets, String name, String schemaUrl) {
    ObjectNode facet = facets.putObject(name);
    facet.put("_producer", producer);
    facet.put("_schemaURL", schemaUrl);
    return facet;
  }

  /** Each rule's verdict from a gate's counts before and after a run. */
  static void verdicts(
      QualityGate<?> gate, Map<String, Long> before, GateCounts after, List<Verdict> into) {
    for (Rule rule : gate.rules()) {
      long failed =
          after.failuresByRule().getOrDefault(rule.name(), 0L)
              - before.getOrDefault(rule.name(), 0L);
      into.add(new Verdict(rule.name(), rule.field(), failed == 0));
    }
  }
}
