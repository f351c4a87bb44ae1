package dev.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.engine.run.LineageRecorder;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The lineage of merged records and their parts, in memory. */
class MergeLineageTest {
  private static final StageName MERGE = StageName.of("merge");

  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private Pipeline<String, String> merging(LineageLevel level, MergeFunction<String, String> fn) {
    return Pipeline.builder("merge-lineage-" + level, String.class)
        .splitStage(StageName.EXTRACTION, (String a, StageContext c) -> Arrays.asList(a.split(",")))
        .stage(
            StageName.of("reading"),
            (String f) -> {
              if (f.equals("skip")) {
                throw RecordFilteredException.because("not wanted");
              }
              return f.toUpperCase(Locale.ROOT);
            })
        .mergeStage(
            MERGE,
            fn,
            o ->
                o.retry(
                    RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(2))
                        .maxRetries(2)))
        .sink(sink::addAll)
        .lineage(level)
        .build();
  }

  @Test
  void aMergedRecordsFirstEventIsAtTheMergeStageAndNamesItsParentAndParts() {
    Pipeline<String, String> p =
        merging(LineageLevel.ALL, (List<String> parts, StageContext c) -> String.join("+", parts));

    p.run(Source.of("zip", List.of("a,skip,c").iterator()));

    assertThat(sink).extracting(Envelope::payload).containsExactly("A+C");
    List<LineageEvent> merged = p.lineage("zip-1/merged").events();
    assertThat(merged).extracting(LineageEvent::stage).containsExactly("merge", "sink");
    LineageEvent made = merged.get(0);
    assertThat(made.outcome()).isEqualTo(LineageOutcome.PASSED);
    assertThat(made.parentId()).isEqualTo("zip-1");
    assertThat(made.sourceId()).isEqualTo("zip");
    assertThat(made.detail())
        .isEqualTo("merged from the 2 of 3 parts of 'zip-1' that arrived ('zip-1/0' to 'zip-1/2')");
    assertThat(made.inputHash()).isEqualTo(LineageRecorder.payloadHash(List.of("A", "C")));
    assertThat(made.outputHash()).isEqualTo(LineageRecorder.payloadHash("A+C"));
    assertThat(merged.get(1).inputHash()).isEqualTo(made.outputHash());
    for (String part : List.of("zip-1/0", "zip-1/2")) {
      LineageEvent last = p.lineage(part).events().getLast();
      assertThat(last.outcome()).as(part).isEqualTo(LineageOutcome.MERGED);
      assertThat(last.detail()).isEqualTo("merged into 'zip-1/merged'");
    }
    assertThat(p.lineage("zip-1/1").events().getLast().outcome())
        .isEqualTo(LineageOutcome.FILTERED);
  }

  @Test
  void failuresKeepsAMergedRecordsEventOnlyWhenItsMergeWasRetried() {
    AtomicInteger calls = new AtomicInteger();
    Pipeline<String, String> p =
        merging(
            LineageLevel.FAILURES,
            (List<String> parts, StageContext c) -> {
              if (parts.contains("FLAKY") && calls.incrementAndGet() == 1) {
                throw new IllegalStateException("once");
              }
              return String.join("+", parts);
            });

    p.run(Source.of("zip", List.of("a,b", "flaky,d").iterator()));

    assertThat(sink).hasSize(2);
    assertThat(p.lineage("zip-1/merged").events()).isEmpty();
    assertThat(p.lineage("zip-2/merged").events())
        .singleElement()
        .satisfies(e -> assertThat(e.attempts()).isEqualTo(2))
        .satisfies(e -> assertThat(e.stage()).isEqualTo("merge"));
  }
}
