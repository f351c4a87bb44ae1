package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.Route;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.testkit.ManualClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;

/** A small pipeline whose bad records fail with an error message holding markup. */
final class Fixture {
  /** The error message of a bad record: markup that must render as text. */
  static final String HOSTILE = "<script>alert('x')</script> price missing";

  private Fixture() {}

  /** A pipeline "orders" (cleaning, validation) on an in-memory store. */
  static Pipeline<String, String> pipeline() {
    return pipeline(InMemoryPipelineStore.create());
  }

  static Pipeline<String, String> pipeline(RecordLedger store) {
    return Pipeline.builder("orders", String.class)
        .store(store)
        .alerts(alert -> {}) // the dead letters are the point of the fixture, not noise
        .stage(StageName.CLEANING, (String s) -> s.strip())
        .stage(
            StageName.VALIDATION,
            (String s) -> {
              if (s.contains("bad")) {
                throw new IllegalStateException(HOSTILE);
              }
              return s.toUpperCase(java.util.Locale.ROOT);
            })
        .build();
  }

  /** The name of the branch sink of {@link #routed}. */
  static final String WORD_SINK = "by-kind/words/sink";

  /**
   * A pipeline "routes" whose words ("w..." records) go to a branch's sink that is down: each call
   * takes a second on {@code clock} (so it is the busiest stage of the report) and fails, and two
   * failures open its circuit for an hour. Run with {@code words} words and two other records.
   */
  static Pipeline<String, String> routed(ManualClock clock, int words) {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.startsWith("w"),
                Route.<String>branch(StageName.of("words"))
                    .to(
                        records -> {
                          clock.advance(Duration.ofSeconds(1));
                          throw new IOException("the word index is down");
                        },
                        s ->
                            s.retry(RetryPolicy.none())
                                .circuitBreaker(
                                    CircuitBreaker.failureRate(0.5)
                                        .minCalls(2)
                                        .window(2)
                                        .openFor(Duration.ofHours(1)))))
            .otherwise(Route.<String>branch(StageName.of("rest")).join(String.class))
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("routes", String.class)
            .clock(clock)
            .alerts(alert -> {})
            .stage(StageName.of("by-kind"), route, s -> s.batchSize(1))
            .sink(batch -> {})
            .build();
    List<String> items = new ArrayList<>();
    IntStream.range(0, words).forEach(i -> items.add("w" + i));
    items.add("x1");
    items.add("x2");
    pipeline.run(Source.of("in", items.iterator()));
    return pipeline;
  }

  /** Runs the items with the ids {@code idOf} gives them. */
  static RunResult runWithIds(
      Pipeline<String, String> pipeline, List<String> items, Function<String, String> idOf) {
    return pipeline.run(Source.of("given", items.iterator(), idOf));
  }

  /** Runs {@code good} good records and {@code bad} bad ones (ids order-1 ... order-n). */
  static RunResult run(Pipeline<String, String> pipeline, int good, int bad) {
    List<String> items = new ArrayList<>();
    IntStream.range(0, good).forEach(i -> items.add("item " + i));
    IntStream.range(0, bad).forEach(i -> items.add("bad item " + i));
    return pipeline.run(Source.of("order", items.iterator()));
  }

  /** A word, written as "word:<text>" by {@link #WORDS}. */
  record Word(String text) {}

  private static final PayloadCodec<Word> WORDS =
      new PayloadCodec<>() {
        @Override
        public String name() {
          return "word";
        }

        @Override
        public byte[] encode(Word payload) {
          return ("word:" + payload.text()).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public Word decode(byte[] bytes) {
          return new Word(new String(bytes, StandardCharsets.UTF_8).substring(5));
        }
      };

  /**
   * A pipeline "words" whose words (texts starting with "w") go down a branch without stages to a
   * sink of its own that refuses every batch holding an "x" (noting what it is given in {@code
   * given}); each failure parks the record, so the word "wx" of its run ends a dead letter kept at
   * that sink's step "by-kind/words/sink", whose codec is the route's input codec.
   */
  static Pipeline<Word, Word> words(List<Word> given) {
    Route<Word, Word> route =
        Route.builder(Word.class, Word.class)
            .when(
                w -> w.text().startsWith("w"),
                Route.<Word>branch(StageName.of("words"))
                    .to(
                        records -> {
                          records.forEach(e -> given.add(e.payload()));
                          if (records.stream().anyMatch(e -> e.payload().text().contains("x"))) {
                            throw new IOException("the word index is down");
                          }
                        },
                        s ->
                            s.retry(
                                RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))
                                    .maxRetries(1))))
            .otherwise(Route.<Word>branch(StageName.of("rest")).join(Word.class))
            .build();
    Pipeline<Word, Word> pipeline =
        Pipeline.builder("words", Word.class)
            .inputCodec(WORDS)
            .retryQueueAfter(Duration.ZERO)
            .stage(StageName.of("by-kind"), route)
            .sink(batch -> {})
            .build();
    pipeline.run(Source.of("in", List.of(new Word("wx")).iterator()));
    return pipeline;
  }
}
