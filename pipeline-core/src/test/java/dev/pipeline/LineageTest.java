package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.engine.run.LineageRecorder;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.Lineage;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LineageTest {
  private static final RetryPolicy TWICE =
      RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(1)).maxRetries(2);

  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();
  private final FakeClock clock = new FakeClock();

  private static Source<String> source(String... ids) {
    return Source.of("src", List.of(ids).iterator(), id -> id);
  }

  /** cleaning strips; extraction fails on "bad*" always, on "flaky" once, filters "skip". */
  private Pipeline<String, String> pipeline(String name, LineageLevel level, double share) {
    PipelineBuilder<String, String> builder =
        Pipeline.builder(name, String.class)
            .stage(CLEANING, (String s) -> s.strip())
            .stage(
                EXTRACTION,
                (String s, StageContext c) -> {
                  if (s.startsWith("bad")) {
                    throw new IOException("cannot read " + s);
                  }
                  if (s.equals("flaky") && c.attempt() == 1) {
                    throw new IOException("flaky once");
                  }
                  if (s.equals("skip")) {
                    throw RecordFilteredException.because("not wanted");
                  }
                  return s.toUpperCase(Locale.ROOT);
                },
                o -> o.retry(TWICE))
            .sink(sink::addAll)
            .retryQueueAfter(Duration.ofMinutes(1))
            .clock(clock)
            .lineage(level);
    if (level == LineageLevel.SAMPLED) {
      builder.lineageSampling(share);
    }
    return builder.build();
  }

  @Test
  void allKeepsAnEventPerStageWithHashesThatChainFromOneStageToTheNext() {
    Pipeline<String, String> pipeline = pipeline("lineage-all", LineageLevel.ALL, 0);

    pipeline.run(source(" a ", "b"));

    Lineage a = pipeline.lineage(" a ");
    assertThat(a.events())
        .extracting(LineageEvent::stage)
        .containsExactly("cleaning", "extraction", "sink");
    assertThat(a.events()).extracting(LineageEvent::outcome).containsOnly(LineageOutcome.PASSED);
    assertThat(a.events()).extracting(LineageEvent::sourceId).containsOnly("src");
    assertThat(a.events()).extracting(LineageEvent::attempts).containsOnly(1);
    LineageEvent cleaning = a.events().get(0);
    LineageEvent extraction = a.events().get(1);
    LineageEvent atSink = a.events().get(2);
    assertThat(cleaning.inputHash()).isEqualTo(LineageRecorder.payloadHash(" a "));
    assertThat(cleaning.outputHash()).isEqualTo(LineageRecorder.payloadHash("a"));
    assertThat(extraction.inputHash()).isEqualTo(cleaning.outputHash());
    assertThat(extraction.outputHash()).isEqualTo(LineageRecorder.payloadHash("A"));
    assertThat(atSink.inputHash()).isEqualTo(atSink.outputHash());
    assertThat(cleaning.enteredAt()).isBeforeOrEqualTo(cleaning.leftAt());
    assertThat(a.parentId()).isNull();
    assertThat(a.childIds()).isEmpty();
    assertThat(pipeline.lineage("b").events()).hasSize(3);
    assertThat(pipeline.lineage("never-seen").isEmpty()).isTrue();
  }

  /**
   * A read while the run goes on, after the writer went quiet: the events handed on are written by
   * the read itself, of a record that ended (filtered) and of one still going on (in the sink), so
   * the read sees them at once rather than after the writer's next poll. The run is held open by
   * its source, so the end of the run writes nothing for it.
   */
  @Test
  void aReadWhileTheRunGoesOnSeesEveryEventHandedOnWithoutWaitingForTheWriter() throws Exception {
    CountDownLatch inSink = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("lineage-read", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  if (s.equals("skip")) {
                    throw RecordFilteredException.because("not wanted");
                  }
                  return s.strip();
                })
            .sink(
                records -> {
                  inSink.countDown();
                  Await.on(release, "the reads");
                })
            .lineage(LineageLevel.ALL)
            .build();
    Iterator<String> ids = List.of("skip", "a").iterator();
    PipelineRun run =
        pipeline.start(Source.of("src", Await.thenEndOn(ids, release, "the reads"), id -> id));
    try {
      Await.on(inSink, "'a' in the sink");

      assertThat(pipeline.lineage("skip").events())
          .extracting(LineageEvent::stage, LineageEvent::outcome)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("cleaning", LineageOutcome.FILTERED));
      assertThat(pipeline.lineage("a").events())
          .as("the record in the sink: its event at the stage before")
          .extracting(LineageEvent::stage)
          .containsExactly("cleaning");
    } finally {
      release.countDown();
    }
    Await.result(run);
    assertThat(pipeline.lineage("a").events())
        .extracting(LineageEvent::stage)
        .containsExactly("cleaning", "sink");
  }

  @Test
  void aStageThatChangesItsInputInPlaceHasTheInputHashOfWhatEnteredIt() {
    Queue<Envelope<StringBuilder>> out = new ConcurrentLinkedQueue<>();
    Pipeline<StringBuilder, StringBuilder> pipeline =
        Pipeline.builder("lineage-in-place", StringBuilder.class)
            .stage(CLEANING, (StringBuilder s) -> s.append('1'))
            .stage(EXTRACTION, (StringBuilder s) -> s.append('2'))
            .sink(out::addAll)
            .lineage(LineageLevel.ALL)
            .build();

    pipeline.run(
        Source.of("src", List.of(new StringBuilder("a")).iterator(), StringBuilder::toString));

    List<LineageEvent> events = pipeline.lineage("a").events();
    assertThat(events)
        .extracting(LineageEvent::stage)
        .containsExactly("cleaning", "extraction", "sink");
    // the first stage's input is hashed after the call, as it was before this stage kept hashes
    assertThat(events.get(0).outputHash()).isEqualTo(LineageRecorder.payloadHash("a1"));
    assertThat(events.get(1).inputHash())
        .as("what entered extraction, though extraction changed that object")
        .isEqualTo(LineageRecorder.payloadHash("a1"));
    assertThat(events.get(1).outputHash()).isEqualTo(LineageRecorder.payloadHash("a12"));
    assertThat(events.get(2).inputHash()).isEqualTo(LineageRecorder.payloadHash("a12"));
    assertThat(events.get(2).outputHash()).isEqualTo(events.get(2).inputHash());
  }

  /** A record payload whose list a stage may change in place. */
  record Tagged(String name, List<String> tags) {}

  @Test
  void anUnchangedRecordHandedOnAsItIsKeepsItsHashAndOneChangedInPlaceIsHashedAgain() {
    Pipeline<Tagged, Tagged> pipeline =
        Pipeline.builder("lineage-same-object", Tagged.class)
            .stage(
                CLEANING,
                (Tagged t) ->
                    t.name().startsWith("fixed")
                        ? new Tagged(t.name(), List.of("a"))
                        : new Tagged(t.name(), new ArrayList<>(List.of("a"))))
            .stage(
                EXTRACTION,
                (Tagged t) -> {
                  if (t.tags() instanceof ArrayList<String> tags) {
                    tags.add("b"); // in place, handing the same object on
                  }
                  return t;
                })
            .sink(records -> {})
            .lineage(LineageLevel.ALL)
            .build();

    pipeline.run(
        Source.of(
            "src",
            List.of(new Tagged("fixed", List.of()), new Tagged("open", List.of())).iterator(),
            Tagged::name));

    List<LineageEvent> fixed = pipeline.lineage("fixed").events();
    long fixedHash = LineageRecorder.payloadHash(new Tagged("fixed", List.of("a")));
    assertThat(fixed.get(1).inputHash()).isEqualTo(fixedHash);
    assertThat(fixed.get(1).outputHash()).isEqualTo(fixedHash);
    List<LineageEvent> open = pipeline.lineage("open").events();
    assertThat(open.get(1).inputHash())
        .isEqualTo(LineageRecorder.payloadHash(new Tagged("open", List.of("a"))));
    assertThat(open.get(1).outputHash())
        .as("the list the stage changed in place")
        .isEqualTo(LineageRecorder.payloadHash(new Tagged("open", List.of("a", "b"))));
    assertThat(open.get(2).inputHash()).isEqualTo(open.get(1).outputHash());
  }

  /**
   * A payload that counts how often it is made into text: not a record, so it is hashed by its text
   * (a record is hashed by its components, never made into text).
   */
  static final class Counted {
    private final String text;
    private final AtomicInteger made;

    Counted(String text, AtomicInteger made) {
      this.text = text;
      this.made = made;
    }

    String text() {
      return text;
    }

    AtomicInteger made() {
      return made;
    }

    @Override
    public String toString() {
      made.incrementAndGet();
      return text;
    }
  }

  /** A record payload that counts how often it is made into text. */
  record CountedRecord(String text, AtomicInteger made) {
    @Override
    public String toString() {
      made.incrementAndGet();
      return text;
    }
  }

  @Test
  void aRecordPayloadIsHashedByItsComponentsWithoutBeingMadeIntoText() {
    AtomicInteger made = new AtomicInteger();
    Pipeline<CountedRecord, CountedRecord> pipeline =
        Pipeline.builder("lineage-record", CountedRecord.class)
            .stage(CLEANING, (CountedRecord c) -> new CountedRecord(c.text() + "1", c.made()))
            .sink(records -> {})
            .lineage(LineageLevel.ALL)
            .build();

    pipeline.run(
        Source.of("src", List.of(new CountedRecord("a", made)).iterator(), CountedRecord::text));

    List<LineageEvent> events = pipeline.lineage("a").events();
    assertThat(events).hasSize(2);
    assertThat(events.get(0).inputHash()).isNotEqualTo(events.get(0).outputHash());
    assertThat(events.get(0).outputHash())
        .isEqualTo(LineageRecorder.payloadHash(new CountedRecord("a1", new AtomicInteger())))
        .as("another record type with the same text")
        .isNotEqualTo(LineageRecorder.payloadHash("a1"));
    assertThat(made.get()).as("payloads made into text").isZero();
  }

  @Test
  void eachStagesOutputIsMadeIntoTextOnceAndTheNextStageTakesItsHash() {
    AtomicInteger made = new AtomicInteger();
    Queue<Envelope<Counted>> out = new ConcurrentLinkedQueue<>();
    Pipeline<Counted, Counted> pipeline =
        Pipeline.builder("lineage-once", Counted.class)
            .stage(CLEANING, (Counted c) -> new Counted(c.text() + "1", c.made()))
            .stage(EXTRACTION, (Counted c) -> new Counted(c.text() + "2", c.made()))
            .sink(out::addAll)
            .lineage(LineageLevel.ALL)
            .build();

    pipeline.run(Source.of("src", List.of(new Counted("a", made)).iterator(), Counted::text));

    List<LineageEvent> events = pipeline.lineage("a").events();
    assertThat(events).hasSize(3);
    assertThat(events.get(1).inputHash()).isEqualTo(events.get(0).outputHash());
    assertThat(events.get(2).inputHash()).isEqualTo(LineageRecorder.payloadHash("a12"));
    // the input at cleaning, the outputs of cleaning and extraction: once each, none at the sink
    assertThat(made.get()).as("payloads made into text").isEqualTo(3);
  }

  @Test
  void noneKeepsNothing() {
    Pipeline<String, String> pipeline = pipeline("lineage-none", LineageLevel.NONE, 0);

    pipeline.run(source("a", "bad", "skip"));

    assertThat(sink).hasSize(1);
    assertThat(pipeline.lineage("a").isEmpty()).isTrue();
    assertThat(pipeline.lineage("bad").isEmpty()).isTrue();
  }

  @Test
  void failuresKeepsTheTrailOfRecordsThatFailedWereFilteredOrRetriedAndNothingOfTheRest() {
    Pipeline<String, String> pipeline = pipeline("lineage-failures", LineageLevel.FAILURES, 0);

    pipeline.run(source("a", "bad", "skip", "flaky"));

    assertThat(pipeline.lineage("a").isEmpty()).as("passed every stage at once").isTrue();
    LineageEvent dead = pipeline.lineage("bad").events().getFirst();
    assertThat(pipeline.lineage("bad").events()).hasSize(1);
    assertThat(dead.stage()).isEqualTo("extraction");
    assertThat(dead.outcome()).isEqualTo(LineageOutcome.DEAD_LETTER);
    assertThat(dead.attempts()).isEqualTo(3);
    assertThat(dead.detail()).contains("IOException").contains("cannot read bad");
    assertThat(dead.outputHash()).isNull();
    assertThat(dead.inputHash()).isEqualTo(LineageRecorder.payloadHash("bad"));
    LineageEvent filtered = pipeline.lineage("skip").events().getFirst();
    assertThat(filtered.outcome()).isEqualTo(LineageOutcome.FILTERED);
    assertThat(filtered.detail()).isEqualTo("not wanted");
    assertThat(pipeline.lineage("flaky").events())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.stage()).isEqualTo("extraction");
              assertThat(e.outcome()).isEqualTo(LineageOutcome.PASSED);
              assertThat(e.attempts()).as("passed at its second attempt").isEqualTo(2);
            });
  }

  @Test
  void samplingChoosesTheSameRecordsEveryRunAndTracesEachAtEveryStageOrAtNone() {
    String[] ids = IntStream.range(0, 200).mapToObj(i -> "rec-" + i).toArray(String[]::new);
    Pipeline<String, String> first = pipeline("lineage-sampled-1", LineageLevel.SAMPLED, 0.25);
    Pipeline<String, String> second = pipeline("lineage-sampled-2", LineageLevel.SAMPLED, 0.25);

    first.run(source(ids));
    second.run(source(ids));

    List<String> traced = new ArrayList<>();
    for (String id : ids) {
      int events = first.lineage(id).events().size();
      assertThat(events).as(id).isIn(0, 3);
      assertThat(second.lineage(id).events()).hasSize(events);
      assertThat(events == 3).as(id).isEqualTo(LineageRecorder.sampled(id, 0.25));
      if (events == 3) {
        traced.add(id);
      }
    }
    assertThat(traced).hasSizeBetween(20, 80); // a quarter of 200, as the hash spreads them
  }

  @Test
  void aSplitsParentNamesItsChildrenAndEachChildItsParent() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("lineage-split", String.class)
            .splitStage(EXTRACTION, (String s, StageContext c) -> Arrays.asList(s.split(",")))
            .stage(PUBLISHING, (String s) -> s + "!")
            .sink(sink::addAll)
            .lineage(LineageLevel.ALL)
            .build();

    pipeline.run(source("x,y"));

    Lineage parent = pipeline.lineage("x,y");
    assertThat(parent.events())
        .singleElement()
        .extracting(LineageEvent::outcome)
        .isEqualTo(LineageOutcome.SPLIT);
    assertThat(parent.events().getFirst().children()).isEqualTo(2);
    assertThat(parent.childIds()).containsExactly("x,y/0", "x,y/1");
    Lineage child = pipeline.lineage("x,y/1");
    assertThat(child.parentId()).isEqualTo("x,y");
    assertThat(child.events())
        .extracting(LineageEvent::stage)
        .containsExactly("publishing", "sink");
    assertThat(child.events().getFirst().inputHash()).isEqualTo(LineageRecorder.payloadHash("y"));
  }

  @Test
  void branchesAndVerdictsSetByAStageAreKeptBoundedAndHostileTextIsEscaped() {
    String huge = "v".repeat(100_000);
    Pipeline<String, String> pipeline =
        Pipeline.builder("lineage-hostile", String.class)
            .stage(
                CLEANING,
                (String s, StageContext c) -> {
                  // as long as a stage may put: longer than lineage keeps
                  c.putMetadata(
                      "branch.kind",
                      s.length() > 5 ? "v".repeat(StageContext.MAX_METADATA_VALUE_CHARS) : "short");
                  c.putMetadata(LineageRecorder.VIOLATIONS, "range:price\u0000\u001b[31m");
                  return s;
                })
            .stage(
                EXTRACTION,
                (String s) -> {
                  if (!s.isEmpty()) {
                    throw new IllegalStateException("boom " + huge);
                  }
                  return s;
                })
            .sink(sink::addAll)
            .lineage(LineageLevel.ALL)
            .build();
    String id = "id\u001b[2J\nwith-controls-" + "x".repeat(20);

    pipeline.run(Source.of("src", List.of("long-one", "s").iterator(), p -> id + p));

    Lineage longOne = pipeline.lineage(id + "long-one");
    assertThat(longOne.events()).hasSize(2);
    LineageEvent cleaning = longOne.events().get(0);
    assertThat(cleaning.branch()).startsWith("branch.kind=vvv");
    assertThat(cleaning.branch().length()).isLessThanOrEqualTo(LineageEvent.MAX_TEXT + 100);
    assertThat(cleaning.verdicts()).doesNotContain("\u0000");
    LineageEvent failed = longOne.events().get(1);
    assertThat(failed.outcome()).isEqualTo(LineageOutcome.DEAD_LETTER);
    assertThat(failed.verdicts()).as("given at cleaning, not here").isNull();
    assertThat(failed.detail().length()).isLessThanOrEqualTo(LineageEvent.MAX_TEXT + 100);
    assertThat(pipeline.lineage(id + "s").events().getFirst().branch())
        .isEqualTo("branch.kind=short");
  }

  @Test
  void theInMemoryStoreKeepsTheMostRecentEventsOnly() {
    InMemoryPipelineStore store = InMemoryPipelineStore.builder().retainLineage(4).build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("lineage-ring", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(sink::addAll)
            .store(store)
            .lineage(LineageLevel.ALL)
            .build();

    pipeline.run(source("r1"));
    assertThat(pipeline.lineage("r1").events()).hasSize(2);
    pipeline.run(source("r2", "r3"));

    // 4 more events (cleaning, sink for each record) overwrite r1's
    assertThat(pipeline.lineage("r1").isEmpty()).isTrue();
    assertThat(pipeline.lineage("r2").events()).hasSize(2);
    assertThat(pipeline.lineage("r3").events()).hasSize(2);
    assertThatThrownBy(() -> InMemoryPipelineStore.builder().retainLineage(-1))
        .hasMessageContaining("between 0 and 10,000,000");
  }

  @Test
  void samplingIsCheckedAtBuild() {
    assertThatThrownBy(
            () ->
                Pipeline.builder("s1", String.class)
                    .stage(CLEANING, (String s) -> s)
                    .lineage(LineageLevel.SAMPLED)
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("lineageSampling(share)");
    assertThatThrownBy(
            () ->
                Pipeline.builder("s2", String.class)
                    .stage(CLEANING, (String s) -> s)
                    .lineage(LineageLevel.SAMPLED)
                    .lineageSampling(1.5)
                    .build())
        .hasMessageContaining("greater than 0 and at most 1, was 1.5");
    assertThatThrownBy(
            () ->
                Pipeline.builder("s3", String.class)
                    .stage(CLEANING, (String s) -> s)
                    .lineage(LineageLevel.ALL)
                    .lineageSampling(0.5)
                    .build())
        .hasMessageContaining("set lineage(LineageLevel.SAMPLED)");
  }

  @Test
  void aRoutedRecordNamesTheBranchItTookAndItsOwnSink() {
    Queue<Envelope<String>> side = new ConcurrentLinkedQueue<>();
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.chars().allMatch(Character::isDigit),
                Route.<String>branch(StageName.of("numbers"))
                    .stage(StageName.of("double"), (String s, StageContext c) -> s + s)
                    .join(String.class))
            .otherwise(Route.<String>branch(StageName.of("words")).to(side::addAll))
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("lineage-route", String.class)
            .stage(StageName.of("by-kind"), route)
            .sink(sink::addAll)
            .lineage(LineageLevel.ALL)
            .build();

    pipeline.run(source("12", "abc"));

    Lineage number = pipeline.lineage("12");
    assertThat(number.events()).extracting(LineageEvent::stage).containsExactly("by-kind", "sink");
    assertThat(number.events().getFirst().branch()).isEqualTo("branch.by-kind=numbers");
    assertThat(number.events().getFirst().outputHash())
        .isEqualTo(LineageRecorder.payloadHash("1212"));
    assertThat(pipeline.lineage("abc").events().getFirst().branch())
        .isEqualTo("branch.by-kind=words");
    assertThat(side).extracting(Envelope::id).containsExactly("abc");
  }

  @Test
  void aRecordAStageSkippedByItsFallbackIsDegradedThereAndPassedAtTheStagesAfter() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("lineage-degraded", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  if (s.startsWith("down")) {
                    throw new IOException("cleaner down");
                  }
                  return s.strip();
                },
                o -> o.fallback(Fallback.skip()))
            .stage(EXTRACTION, (String s) -> s.toUpperCase(Locale.ROOT))
            .sink(sink::addAll)
            .lineage(LineageLevel.ALL)
            .build();

    pipeline.run(source("ok ", "down-1", "ok2 "));

    assertThat(pipeline.lineage("down-1").events())
        .extracting(e -> e.stage() + " " + e.outcome())
        .containsExactly("cleaning DEGRADED", "extraction PASSED", "sink PASSED");
    assertThat(pipeline.lineage("ok ").events())
        .extracting(e -> e.stage() + " " + e.outcome())
        .containsExactly("cleaning PASSED", "extraction PASSED", "sink PASSED");
  }
}
