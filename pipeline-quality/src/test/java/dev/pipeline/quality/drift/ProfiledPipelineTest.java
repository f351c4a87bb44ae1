package dev.pipeline.quality.drift;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Alert;
import dev.pipeline.Pipeline;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The profiler inside a real pipeline: concurrent workers, filtered and failing records. */
class ProfiledPipelineTest {

  record Item(int n, String parity) {}

  private final List<Alert> alerts = new CopyOnWriteArrayList<>();

  @Test
  void theObservingStageProfilesExactlyWhatTheStagePassesOn() {
    FieldProfiler<Item> profiler =
        FieldProfiler.<Item>builder("extraction")
            .number("n", Item::n)
            .category("parity", Item::parity)
            .build();
    Pipeline<Integer, Item> pipeline =
        Pipeline.builder("profiled", Integer.class)
            .stage(
                StageName.EXTRACTION,
                profiler.observing(
                    (Integer n, StageContext c) -> {
                      if (n % 10 == 0) {
                        throw RecordFilteredException.because("tens are dropped");
                      }
                      if (n % 10 == 5) {
                        throw new IllegalStateException("fives fail");
                      }
                      return new Item(n, n % 2 == 0 ? "even" : "odd");
                    }),
                o -> o.concurrency(4))
            .stage(StageName.INDEXING, profiler.passThrough())
            .alerts(alerts::add)
            .build();

    List<Integer> numbers = IntStream.rangeClosed(1, 10_000).boxed().toList();
    RunResult result = pipeline.run(Source.of("numbers", numbers.iterator(), n -> "n" + n));
    WindowProfile window = profiler.roll();

    assertThat(result.published()).isEqualTo(8_000);
    assertThat(alerts).hasSize(1_000).allMatch(a -> a.kind() == Alert.Kind.DEAD_LETTER);
    // each published record was observed twice: by the wrapped stage and by the pass-through one
    assertThat(window.records()).isEqualTo(2 * 8_000);
    FieldProfile parity = window.fields().get("parity");
    assertThat(parity.topValues())
        .containsExactlyInAnyOrder(
            new ValueCount("even", 2 * 4_000, 0), new ValueCount("odd", 2 * 4_000, 0));
    assertThat(window.fields().get("n").max()).isEqualTo(9_999.0);
  }
}
