package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.RecordLedger;
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
}
