package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConfirmationsTest {
  private static final long VOUCH = TimeUnit.SECONDS.toNanos(27);

  private final AtomicLong nanos = new AtomicLong(5_000);
  private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);
  private final Confirmations confirmations =
      new Confirmations(VOUCH, nanos::get, millis::get, p -> 10);

  @Test
  void aLeaseIsDoubtfulOnceTheWallClockPassedTheMarginThoughTheMonotonicClockStoodStill() {
    confirmations.confirm("p", List.of("a", "b"), confirmations.now());
    assertThat(confirmations.doubtful("p", List.of("a", "b"))).as("just confirmed").isEmpty();

    millis.addAndGet(TimeUnit.SECONDS.toMillis(28)); // the VM was frozen: nanoTime did not move

    assertThat(confirmations.doubtful("p", List.of("a", "b"))).containsExactly("a", "b");
    assertThat(confirmations.oldest("p", List.of("a"))).isEqualTo(TimeUnit.SECONDS.toNanos(28));
  }

  @Test
  void aLeaseIsDoubtfulOnceTheMonotonicClockPassedTheMarginThoughTheWallClockWasSetBack() {
    confirmations.confirm("p", List.of("a"), confirmations.now());

    nanos.addAndGet(VOUCH + 1);
    millis.addAndGet(-TimeUnit.HOURS.toMillis(1));

    assertThat(confirmations.doubtful("p", List.of("a"))).containsExactly("a");
  }

  @Test
  void aLeaseWithinTheMarginByBothClocksIsVouchedFor() {
    confirmations.confirm("p", List.of("a"), confirmations.now());

    nanos.addAndGet(VOUCH);
    millis.addAndGet(TimeUnit.NANOSECONDS.toMillis(VOUCH));

    assertThat(confirmations.doubtful("p", List.of("a", "unknown"))).containsExactly("unknown");
  }
}
