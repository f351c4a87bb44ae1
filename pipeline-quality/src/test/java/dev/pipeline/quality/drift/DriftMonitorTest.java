package dev.pipeline.quality.drift;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Alert;
import dev.pipeline.testkit.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class DriftMonitorTest {

  record Sale(double amount, String channel) {}

  private final ManualClock clock = ManualClock.create();
  private final List<Alert> alerts = new CopyOnWriteArrayList<>();
  private final SplittableRandom random = new SplittableRandom(11);

  @Test
  void aRollingBaselineLearnsFirstThenAlertsOnAShiftedWindow() {
    DriftMonitor monitor =
        DriftMonitor.builder("shop").baseline(Baseline.rolling(3)).alerts(alerts::add).build();
    FieldProfiler<Sale> profiler = profiler(monitor);

    for (int w = 0; w < 4; w++) {
      window(profiler, 50, "web");
    }
    window(profiler, 80, "web");

    List<WindowDrift> results = monitor.results();
    assertThat(results).hasSize(5);
    assertThat(results.get(0).level())
        .as("the first window has no baseline")
        .isEqualTo(DriftLevel.INSUFFICIENT_DATA);
    assertThat(results.subList(1, 4))
        .allSatisfy(r -> assertThat(r.level()).isEqualTo(DriftLevel.NONE));
    WindowDrift shifted = results.get(4);
    assertThat(shifted.fields().get(0).level()).isEqualTo(DriftLevel.ALERT);
    assertThat(shifted.fields().get(1).level())
        .as("channel did not move")
        .isEqualTo(DriftLevel.NONE);
    assertThat(alerts)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.kind()).isEqualTo(Alert.Kind.DATA_DRIFT);
              assertThat(a.stage()).isEqualTo("checkout");
              assertThat(a.at()).isEqualTo(shifted.end());
              assertThat(a.message())
                  .contains("data drift alert", "field 'amount'", "PSI", "pin a new baseline");
            });
  }

  @Test
  void aPinnedBaselineStaysAndCanBeReplaced() {
    DriftMonitor monitor = DriftMonitor.builder("shop").alerts(alerts::add).build();
    FieldProfiler<Sale> reference = profiler(monitor);
    window(reference, 50, "web");
    window(reference, 50, "web");
    WindowProfile known = reference.windows().stream().reduce(WindowProfile::plus).orElseThrow();
    monitor.baseline(Baseline.pinned(known));
    alerts.clear();

    for (int w = 0; w < 3; w++) {
      window(reference, 50, "app");
    }
    List<WindowDrift> results = monitor.results();
    assertThat(results.subList(2, 5))
        .as("every window is compared with the pinned profile, not with the one before")
        .allSatisfy(r -> assertThat(r.fields().get(1).level()).isEqualTo(DriftLevel.ALERT));
    assertThat(alerts).hasSize(3).allSatisfy(a -> assertThat(a.message()).contains("'channel'"));
  }

  private FieldProfiler<Sale> profiler(DriftMonitor monitor) {
    return FieldProfiler.<Sale>builder("checkout")
        .clock(clock)
        .window(Duration.ofMinutes(1))
        .number("amount", Sale::amount)
        .category("channel", Sale::channel)
        .onWindow(monitor::check)
        .build();
  }

  private void window(FieldProfiler<Sale> profiler, double mean, String channel) {
    for (int i = 0; i < 2_000; i++) {
      profiler.observe(new Sale(mean + 10 * random.nextDouble(), i % 4 == 0 ? "store" : channel));
    }
    clock.advance(Duration.ofMinutes(1));
    profiler.roll();
  }
}
