package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.BatchStage;
import dev.pipeline.Parallel;
import dev.pipeline.ReferenceData;
import dev.pipeline.Route;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class TestStageContextTest {
  private final AtomicInteger loads = new AtomicInteger();
  private final ReferenceData<String, Long> eurRates =
      ReferenceData.<String, Long>named("eur-rates")
          .expireAfterWrite(Duration.ofHours(1))
          .build(
              code -> {
                loads.incrementAndGet();
                return code.equals("USD") ? 92L : null;
              });

  /** Converts a price in cents to euro cents, as a user's stage would. */
  private final Stage<Long, Long> toEuro =
      (Long cents, StageContext c) -> {
        long rate = c.reference(eurRates).get(c.metadata().get("currency"));
        c.putMetadata("converted-at", c.now().toString());
        c.logger().info("record {} converted at {}", c.recordId(), rate);
        return cents * rate / 100;
      };

  @Test
  void aKeyTheEngineAloneWritesIsRefusedAsInAPipeline() {
    TestStageContext context = TestStageContext.builder().recordId("listing-17").build();
    Stage<String, String> forger =
        (String s, StageContext c) -> {
          c.putMetadata(dev.pipeline.Envelope.PARENT_ID, "someone-else");
          return s;
        };

    assertThatThrownBy(() -> forger.process("x", context))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("metadata key 'parent' is written by the engine only");
    assertThat(context.addedMetadata()).isEmpty();
  }

  /** A stage adding {@code keys} entries of its own. */
  private static Stage<String, String> adds(int keys) {
    return (String s, StageContext c) -> {
      for (int i = 0; i < keys; i++) {
        c.putMetadata("key-" + i, "v");
      }
      return s;
    };
  }

  /** A route whose one branch is {@code stage}. */
  private static Route<String, String> routeOver(Stage<String, String> stage) {
    return Route.builder(String.class, String.class)
        .otherwise(
            Route.<String>branch(StageName.of("all"))
                .stage(StageName.of("tag"), stage)
                .join(String.class))
        .build();
  }

  @Test
  void aRouteOverAStageAddingTheMostOneCallMayAddPassesAsInAPipeline() throws Exception {
    StageName byKind = StageName.of("by-kind");
    TestStageContext context = TestStageContext.builder().stage(byKind).build();

    String out = routeOver(adds(StageContext.MAX_METADATA_ENTRIES)).process("x", context);

    assertThat(out).isEqualTo("x");
    assertThat(context.addedMetadata())
        .as("the stage's 64 keys and the route's own mark, which the count leaves out")
        .hasSize(StageContext.MAX_METADATA_ENTRIES + 1)
        .containsEntry(Route.metadataKey(byKind), "all")
        .containsKey("key-" + (StageContext.MAX_METADATA_ENTRIES - 1));
  }

  @Test
  void aRouteOverAStageAddingOneKeyTooManyFailsAsInAPipeline() {
    TestStageContext context = TestStageContext.builder().stage(StageName.of("by-kind")).build();

    assertThatThrownBy(
            () -> routeOver(adds(StageContext.MAX_METADATA_ENTRIES + 1)).process("x", context))
        .hasStackTraceContaining("the call already added 64 keys, the most one call may add");
  }

  @Test
  void aParallelStageJoinsWhatEachBranchAddedThoughTogetherItIsMoreThanOneCallMayAdd()
      throws Exception {
    TestStageContext context = TestStageContext.builder().stage(StageName.of("both")).build();
    Parallel<String, String> both =
        Parallel.join(
            Parallel.branch(StageName.of("left"), adds(StageContext.MAX_METADATA_ENTRIES)),
            Parallel.branch(
                StageName.of("right"),
                (String s, StageContext c) -> {
                  for (int i = 0; i < StageContext.MAX_METADATA_ENTRIES; i++) {
                    c.putMetadata("right-" + i, "v");
                  }
                  return s;
                }),
            (String left, String right) -> left);

    assertThat(both.process("x", context)).isEqualTo("x");
    assertThat(context.addedMetadata())
        .containsKeys("key-63", "right-63")
        .hasSizeGreaterThanOrEqualTo(2 * StageContext.MAX_METADATA_ENTRIES);
  }

  @Test
  void aValueTooLongIsRefusedAsInAPipeline() {
    TestStageContext context = TestStageContext.builder().recordId("listing-17").build();
    Stage<String, String> hoarder =
        (String s, StageContext c) -> {
          c.putMetadata("blob", "x".repeat(StageContext.MAX_METADATA_VALUE_CHARS + 1));
          return s;
        };

    assertThatThrownBy(() -> hoarder.process("x", context))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot add metadata key 'blob' to record 'listing-17'")
        .hasMessageContaining("keep large data in the payload");
    assertThat(context.addedMetadata()).isEmpty();
  }

  @Test
  void aStageFunctionIsCalledWithoutATesterAndWhatItDidIsRead() throws Exception {
    ManualClock clock = ManualClock.create();
    TestStageContext context =
        TestStageContext.builder()
            .pipeline("listings")
            .stage(StageName.CLEANING)
            .recordId("listing-17")
            .metadata(Map.of("currency", "USD"))
            .attempt(2)
            .clock(clock)
            .referenceData(eurRates)
            .build();
    clock.advance(Duration.ofMinutes(5));

    assertThat(toEuro.process(1_000L, context)).isEqualTo(920L);
    assertThat(toEuro.process(2_000L, context)).isEqualTo(1_840L);

    assertThat(context.pipeline()).isEqualTo("listings");
    assertThat(context.stage()).isEqualTo(StageName.CLEANING);
    assertThat(context.recordIds()).containsExactly("listing-17");
    assertThat(context.attempt()).isEqualTo(2);
    assertThat(context.addedMetadata())
        .containsExactly(Map.entry("converted-at", "2026-01-01T00:05:00Z"));
    assertThat(context.logs())
        .extracting(LogEntry::level, LogEntry::message)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Level.INFO, "record listing-17 converted at 92"),
            org.assertj.core.groups.Tuple.tuple(Level.INFO, "record listing-17 converted at 92"));
    assertThat(loads).as("the second lookup is a cache hit").hasValue(1);
  }

  @Test
  void defaultsAreOneRecordAtItsFirstAttemptOnAManualClock() {
    TestStageContext context = TestStageContext.builder().build();

    assertThat(context.recordId()).isEqualTo("record-1");
    assertThat(context.pipeline()).isEqualTo(StageTester.DEFAULT_PIPELINE_NAME);
    assertThat(context.stage()).isEqualTo(StageTester.DEFAULT_STAGE_NAME);
    assertThat(context.attempt()).isOne();
    assertThat(context.metadata()).isEmpty();
    assertThat(context.now()).isEqualTo(ManualClock.DEFAULT_START);
    assertThat(context.logs()).isEmpty();
  }

  @Test
  void aBatchContextRecordsWhatTheStageFilteredAndFailedByIndex() throws Exception {
    BatchStage<String, String> stage =
        (List<String> batch, StageContext c) -> {
          List<String> out = new ArrayList<>();
          for (int i = 0; i < batch.size(); i++) {
            String s = batch.get(i);
            if (s.isBlank()) {
              c.filter(i, "blank");
              out.add(null);
            } else if (s.equals("bad")) {
              c.fail(i, new IllegalArgumentException("bad input"));
              out.add(null);
            } else {
              out.add(s.toUpperCase(java.util.Locale.ROOT));
            }
          }
          return out;
        };
    TestStageContext context = TestStageContext.builder().batch(List.of("a", "b", "c")).build();

    assertThat(stage.process(List.of("x", " ", "bad"), context)).containsExactly("X", null, null);
    assertThat(context.filterReason(0)).isNull();
    assertThat(context.filterReason(1)).isEqualTo("blank");
    assertThat(context.failure(2)).hasMessage("bad input");
    assertThatThrownBy(context::recordId)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is a batch stage");
    assertThatThrownBy(() -> context.filterReason(3)).isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void theEnginesContractIsKeptAndBadSettingsAreRefused() {
    TestStageContext single = TestStageContext.builder().recordId("r").build();
    assertThatThrownBy(() -> single.filter(0, "why"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("throw RecordFilteredException");
    assertThatThrownBy(() -> single.reference(eurRates))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("TestStageContext.builder().referenceData(...)");
    assertThatThrownBy(() -> TestStageContext.builder().attempt(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("attempt counts from 1, was 0");
    assertThatThrownBy(() -> TestStageContext.builder().batch(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TestStageContext.builder().clock(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("clock cannot be null");
    assertThat(
            TestStageContext.builder().clock(ManualClock.startingAt(Instant.EPOCH)).build().now())
        .isEqualTo(Instant.EPOCH);
  }
}
