package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Durations the store turns into milliseconds, nanoseconds or database timestamps are refused at
 * the builder with their limit, instead of overflowing later in the purge or heartbeat thread.
 */
class StoreBuilderLimitsTest {
  private static final Duration VAST = Duration.ofSeconds(Long.MAX_VALUE);

  @Test
  void retentionsTooLongForTheDatabasesTimestampsAreRefusedWithTheLimit() {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().retainCompleted(VAST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(
            "retainCompleted must be between PT0S and PT87600H (10 years), was PT");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().retainPayloads(VAST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("retainPayloads must be between PT0S and PT87600H (10 years)");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().retainLogs(Duration.ofDays(3651)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("retainLogs must be between PT0S and PT87600H (10 years), was PT87624H");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().retainLogs(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("retainLogs must be between PT0S and PT87600H (10 years), was PT-1S");
  }

  @Test
  void outageToleranceAndPurgePeriodTooLongForNanosecondsAreRefusedWithTheLimit() {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().outageTolerance(VAST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("outageTolerance must be between PT0S and PT168H (7 days), was");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().purgeEvery(VAST))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("purgeEvery must be between 1s and 7 days (PT168H), was");
  }

  @Test
  void theLimitsThemselvesAreAccepted() {
    assertThat(
            JdbcPipelineStore.builder()
                .retainCompleted(JdbcPipelineStoreBuilder.MAX_RETENTION)
                .retainPayloads(Duration.ZERO)
                .retainLogs(JdbcPipelineStoreBuilder.MAX_RETENTION)
                .outageTolerance(JdbcPipelineStoreBuilder.MAX_OUTAGE_TOLERANCE)
                .purgeEvery(Duration.ofDays(7)))
        .isNotNull();
  }
}
