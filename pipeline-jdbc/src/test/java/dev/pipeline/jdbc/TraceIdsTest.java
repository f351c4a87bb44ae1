package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The {@code trace_id} values the lineage writer gives its rows (schema version 16): the wall clock
 * in microseconds times 1,024, never repeated nor going back.
 */
class TraceIdsTest {
  private static final Instant AT = Instant.parse("2026-12-07T10:00:00.000001Z");
  private static final long MICROS = AT.getEpochSecond() * 1_000_000L + 1;

  @Test
  void anAppendsRowsTakeConsecutiveValuesOfTheWallClockAndTheNextAppendsFollow() {
    LineageLog.TraceIds ids = new LineageLog.TraceIds();

    assertThat(ids.next(3, AT)).isEqualTo(MICROS * 1024);
    assertThat(ids.next(2, AT)).as("the same microsecond").isEqualTo(MICROS * 1024 + 3);
    assertThat(ids.next(1, AT.minusSeconds(30)))
        .as("the clock stepped back")
        .isEqualTo(MICROS * 1024 + 5);
    assertThat(ids.next(1, AT.plusNanos(1_000)))
        .as("the next microsecond")
        .isEqualTo((MICROS + 1) * 1024);
  }

  @Test
  void anotherWritersLaterAppendComesAfterAndAboveTheIdentityValuesOfOldRows() {
    LineageLog.TraceIds crashed = new LineageLog.TraceIds();
    long before = crashed.next(5_000, AT);

    LineageLog.TraceIds taker = new LineageLog.TraceIds();
    assertThat(taker.next(1, AT.plusSeconds(1)))
        .as("a record's rows from a worker that took it over a second later")
        .isGreaterThan(before + 5_000)
        .isGreaterThan(1L << 60);
  }
}
