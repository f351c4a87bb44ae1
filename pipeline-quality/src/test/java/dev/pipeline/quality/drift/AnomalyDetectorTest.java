package dev.pipeline.quality.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Alert;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.ResilienceMetrics;
import dev.pipeline.metrics.StageMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class AnomalyDetectorTest {

  private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");
  private final List<Alert> alerts = new CopyOnWriteArrayList<>();

  @Test
  void nothingIsFlaggedDuringTheWarmUp() {
    AnomalyDetector detector = AnomalyDetector.builder("p").warmUp(5).alerts(alerts::add).build();
    double[] series = {100, 101, 5000, 99, 100};
    for (int i = 0; i < series.length; i++) {
      assertThat(detector.observe("s", "volume", T0.plusSeconds(i), series[i]))
          .as("point %d is in the warm-up", i)
          .isNull();
    }
    assertThat(alerts).isEmpty();
  }

  @Test
  void aSpikeAfterTheWarmUpIsFlaggedByZScoreAndAlerted() {
    AnomalyDetector detector = AnomalyDetector.builder("p").warmUp(10).alerts(alerts::add).build();
    for (int i = 0; i < 20; i++) {
      assertThat(detector.observe("s", "volume", T0.plusSeconds(i), 100 + (i % 2 == 0 ? 2 : -2)))
          .isNull();
    }
    Anomaly anomaly = detector.observe("s", "volume", T0.plusSeconds(20), 130);
    assertThat(anomaly).isNotNull();
    assertThat(anomaly.check()).isEqualTo(Anomaly.Check.Z_SCORE);
    assertThat(anomaly.mean()).isEqualTo(100.0);
    assertThat(anomaly.deviation()).isEqualTo(2.0);
    assertThat(anomaly.zScore()).isEqualTo(15.0);
    assertThat(alerts)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.kind()).isEqualTo(Alert.Kind.ANOMALY);
              assertThat(a.stage()).isEqualTo("s");
              assertThat(a.message()).contains("volume = 130", "z 15.0");
            });
    assertThat(detector.anomalies()).containsExactly(anomaly);
  }

  @Test
  void aJumpWithinAWideSpreadIsFlaggedByRateOfChange() {
    AnomalyDetector detector = AnomalyDetector.builder("p").warmUp(4).maxChange(1).build();
    double[] noisy = {10, 100, 10, 100, 10, 100, 10};
    for (int i = 0; i < noisy.length; i++) {
      detector.observe("s", "latency-p95-ms", T0.plusSeconds(i), noisy[i]);
    }
    // mean ~48, deviation ~44: 25 is no z-score outlier, but 150 % above the previous 10
    Anomaly anomaly = detector.observe("s", "latency-p95-ms", T0.plusSeconds(9), 25);
    assertThat(anomaly).isNotNull();
    assertThat(anomaly.check()).isEqualTo(Anomaly.Check.RATE_OF_CHANGE);
    assertThat(anomaly.change()).isEqualTo(1.5);
  }

  @Test
  void aFlatSeriesDoesNotFlagASmallWobble() {
    AnomalyDetector detector = AnomalyDetector.builder("p").warmUp(3).build();
    for (int i = 0; i < 10; i++) {
      detector.observe("s", "error-rate", T0.plusSeconds(i), 0.5);
    }
    // the deviation is floored at 1 % of the mean: 0.505 is z = 1
    assertThat(detector.observe("s", "error-rate", T0.plusSeconds(10), 0.505)).isNull();
    assertThat(detector.observe("s", "error-rate", T0.plusSeconds(11), 0.6)).isNotNull();
  }

  @Test
  void metricsSnapshotsBecomeVolumeErrorRateAndLatencyPoints() {
    AnomalyDetector detector = AnomalyDetector.builder("p").warmUp(3).build();
    List<Anomaly> found = List.of();
    for (int i = 0; i <= 6; i++) {
      long in = 1000L * i;
      long errors = i == 6 ? 50 + 600 : 10L * i; // the last interval: 600 errors in 1000
      found = detector.observe(metrics(T0.plusSeconds(60L * i), in, errors));
    }
    assertThat(found).extracting(Anomaly::metric).containsExactly("error-rate");
    assertThat(found.get(0).value()).isEqualTo(0.6);
    assertThat(found.get(0).mean()).isEqualTo(0.01);
  }

  @Test
  void windowsBecomeVolumeAndNullRatePoints() {
    AnomalyDetector detector = AnomalyDetector.builder("p").warmUp(2).build();
    FieldAccumulator.Numbers<Double> field = new FieldAccumulator.Numbers<>("price", x -> x);
    List<Anomaly> found = List.of();
    for (int w = 0; w < 4; w++) {
      for (int i = 0; i < 100; i++) {
        field.observe(w == 3 && i < 50 ? null : 1.0);
      }
      found =
          detector.observe(
              new WindowProfile("s", T0, T0.plusSeconds(w), 100, Map.of("price", field.drain())));
    }
    assertThat(found).extracting(Anomaly::metric).containsExactly("price.null-rate");
  }

  @Test
  void badConfigurationIsRefused() {
    assertThatThrownBy(() -> AnomalyDetector.builder("p").zScore(0.5))
        .hasMessageContaining("[1, 100]");
    assertThatThrownBy(() -> AnomalyDetector.builder("p").warmUp(20).history(10).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("warmUp (20) cannot exceed history (10)");
  }

  private static PipelineMetrics metrics(Instant at, long in, long errors) {
    StageMetrics stage =
        new StageMetrics(
            "s",
            1,
            in,
            in,
            0,
            0,
            0,
            Map.of("IOException", errors),
            Duration.ofMillis(5),
            Duration.ofMillis(10),
            Duration.ofMillis(20),
            Duration.ofMillis(30),
            0,
            0,
            0,
            0,
            0,
            new ResilienceMetrics(null, Double.POSITIVE_INFINITY, 1, 0, 0, 0, 0, Map.of()));
    return new PipelineMetrics("p", at, List.of(stage), in, 0, in, 0, 0);
  }
}
