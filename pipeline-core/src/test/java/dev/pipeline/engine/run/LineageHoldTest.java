package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineageHoldTest {
  private static final Instant T = Instant.parse("2026-12-06T10:00:00Z");

  private static LineageEvent event(String id, String stage, LineageOutcome outcome) {
    return new LineageEvent(
        id, stage, outcome, T, T, 1, 1L, 2L, null, null, 0, null, null, null, null);
  }

  private static List<String> described(List<LineageEvent> events) {
    return events.stream().map(e -> e.recordId() + "@" + e.stage()).toList();
  }

  @Test
  void aRecordsEventsAreHeldUntilItEndsThenGivenTogetherInOrder() {
    LineageHold hold = new LineageHold();
    LineageOutcome passed = LineageOutcome.PASSED;
    hold.add(new LineageBatch(List.of(event("a", "s1", passed), event("b", "s1", passed)), 2), 1);
    hold.add(
        new LineageBatch(
            List.of(event("a", "s2", passed), event("b", "s2", LineageOutcome.FILTERED)), 1),
        1);

    assertThat(described(hold.take(1, false))).as("b was filtered").containsExactly("b@s1", "b@s2");
    hold.add(new LineageBatch(List.of(event("c", "s1", LineageOutcome.DEAD_LETTER)), 0), 2);
    hold.add(new LineageBatch(List.of(event("a", "sink", passed)), 0), 2);

    assertThat(described(hold.take(2, false))).containsExactly("c@s1", "a@s1", "a@s2", "a@sink");
    assertThat(hold.isEmpty()).isTrue();
  }

  @Test
  void aRecordGoingOnIsGivenAfterTheHoldOrWhenEverythingIsAsked() {
    LineageHold hold = new LineageHold();
    hold.add(new LineageBatch(List.of(event("old", "s1", LineageOutcome.PASSED)), 1), 1);
    hold.add(new LineageBatch(List.of(event("young", "s1", LineageOutcome.PASSED)), 1), 5);

    assertThat(hold.take(LineageHold.HOLD_POLLS, false)).isEmpty();
    assertThat(described(hold.take(1 + LineageHold.HOLD_POLLS, false))).containsExactly("old@s1");
    assertThat(hold.isEmpty()).isFalse();
    assertThat(described(hold.take(1 + LineageHold.HOLD_POLLS, true))).containsExactly("young@s1");
    assertThat(hold.isEmpty()).isTrue();
  }

  @Test
  void pastTheMostHeldTheEldestRecordsAreGiven() {
    LineageHold hold = new LineageHold();
    List<LineageEvent> many = new ArrayList<>();
    for (int i = 0; i <= LineageHold.MAX_HELD; i++) {
      many.add(event("r" + i, "s1", LineageOutcome.PASSED));
    }
    hold.add(new LineageBatch(many, many.size()), 1);

    List<LineageEvent> taken = hold.take(1, false);

    assertThat(taken).hasSize(1);
    assertThat(taken.getFirst().recordId()).isEqualTo("r0");
  }
}
