package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.Route;
import dev.pipeline.Sink;
import dev.pipeline.StageContext;
import dev.pipeline.StageFunction;
import dev.pipeline.StageName;
import dev.pipeline.store.InMemoryPipelineStore;
import java.io.PrintStream;
import java.util.List;

/**
 * Routing by data: at most 100 ns per record over a straight pipeline. The same three trivial
 * stages run straight ({@code first → middle → last}) and routed ({@code first → route → last}, the
 * route sending even numbers down a branch whose one stage is {@code middle} and odd ones down
 * another with the same stage, both joining), in rounds that alternate which runs first, so the
 * difference per record survives a loaded machine better than two JMH benchmarks run one after the
 * other ({@code micro.RouteBenchmark}). Both have three stage slots: the difference is the route's
 * work per record (predicate, branch stage call, the branch named in the record's metadata, count).
 * A third pipeline, the straight one whose middle stage only adds one metadata entry as the route
 * does ({@code tagged}), tells how much of that is the engine's copy of the record's metadata.
 */
final class RoutingScenario implements Scenario {
  static final double GOAL_NANOS = 100;

  private static final StageName FIRST = StageName.of("first");
  private static final StageName MIDDLE = StageName.of("middle");
  private static final StageName LAST = StageName.of("last");

  @Override
  public String name() {
    return "routing";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int records = settings.overheadRecords();
    for (int w = 0; w < settings.warmups(); w++) {
      for (Shape shape : Shape.values()) {
        time(shape, records);
      }
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      OverheadScenario.Timed straight;
      OverheadScenario.Timed routed;
      if (rounds.attempts() % 2 == 0) {
        straight = time(Shape.STRAIGHT, records);
        routed = time(Shape.ROUTED, records);
      } else {
        routed = time(Shape.ROUTED, records);
        straight = time(Shape.STRAIGHT, records);
      }
      OverheadScenario.Timed tagged = time(Shape.TAGGED, records);
      double extra = (routed.nanos() - straight.nanos()) / (double) records;
      double tagging = (tagged.nanos() - straight.nanos()) / (double) records;
      String label = rounds.label();
      String note =
          rounds.add(
              straight.cpu().disturbed() || routed.cpu().disturbed(),
              straight.nanos() / 1e6,
              routed.nanos() / 1e6,
              extra,
              tagging);
      log.printf(
          "routing round %s: straight %.1f ms on %s, routed %.1f ms on %s -> %.1f ns/record;"
              + " tagged %.1f ms on %s -> %.1f ns/record%s%n",
          label,
          straight.nanos() / 1e6,
          straight.cpu(),
          routed.nanos() / 1e6,
          routed.cpu(),
          extra,
          tagged.nanos() / 1e6,
          tagged.cpu(),
          tagging,
          note);
    }
    Samples extra = rounds.samples(2);
    return List.of(
        new Row(
            "routing by data: 3 trivial stages, the middle one routed, "
                + Targets.count(records)
                + " records",
            "routed " + rounds.samples(1).format("%.0f") + " ms",
            "straight " + rounds.samples(0).format("%.0f") + " ms",
            extra.format("%.1f")
                + " ns/record (one metadata entry alone: "
                + rounds.samples(3).format("%.1f")
                + " ns/record)"
                + rounds.note(),
            "≤ " + (int) GOAL_NANOS + " ns/record",
            Verdict.of(extra.median() <= GOAL_NANOS)));
  }

  /** The pipelines compared. */
  private enum Shape {
    STRAIGHT,
    ROUTED,
    TAGGED
  }

  private static OverheadScenario.Timed time(Shape shape, int records) {
    try (Pipeline<Long, Long> pipeline = pipeline(shape)) {
      return OverheadScenario.timed(pipeline, records);
    }
  }

  private static Pipeline<Long, Long> pipeline(Shape shape) {
    StageFunction<Long, Long> middle = TrivialStages.function(1);
    PipelineBuilder<Long, Long> builder =
        Pipeline.builder(shape.name().toLowerCase(java.util.Locale.ROOT), Long.class)
            .store(InMemoryPipelineStore.create())
            .stage(FIRST, TrivialStages.function(0));
    if (shape == Shape.ROUTED) {
      Route<Long, Long> byParity =
          Route.builder(Long.class, Long.class)
              .when(
                  n -> (n & 1) == 0,
                  Route.<Long>branch(StageName.of("even"))
                      .stage(MIDDLE, (Long n, StageContext c) -> middle.apply(n))
                      .join(Long.class))
              .otherwise(
                  Route.<Long>branch(StageName.of("odd"))
                      .stage(
                          StageName.of("middle-odd"), (Long n, StageContext c) -> middle.apply(n))
                      .join(Long.class))
              .build();
      builder = builder.stage(StageName.of("route"), byParity);
    } else if (shape == Shape.TAGGED) {
      builder =
          builder.stage(
              MIDDLE,
              (Long n, StageContext c) -> {
                c.putMetadata("branch.route", "even");
                return middle.apply(n);
              });
    } else {
      builder = builder.stage(MIDDLE, middle);
    }
    return builder.stage(LAST, TrivialStages.function(2)).sink(Sink.discarding()).build();
  }
}
