package dev.pipeline.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeadLetterTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private static final List<ErrorInfo> ERRORS =
      List.of(ErrorInfo.of("cleaning", new IllegalStateException("bad"), 1, AT));

  @Test
  void aDeadLetterMadeWithoutPayloadStageHoldsTheFailingStagesInput() {
    DeadLetter dead = new DeadLetter(Envelope.of("r1", 42), "cleaning", ERRORS, 1, AT);

    assertThat(dead.payloadStage()).isEqualTo("cleaning");
    assertThat(dead.payload(Integer.class)).isEqualTo(42);
    assertThat(dead.payload(Number.class)).isEqualTo(42);
  }

  @Test
  void askingForAnotherTypeSaysWhichStagesInputItHoldsAndWhy() {
    DeadLetter earlier =
        new DeadLetter(Envelope.of("r1", "raw"), "cleaning", ERRORS, 1, AT, "ingestion");
    DeadLetter bytes = new DeadLetter(Envelope.of("r2", new byte[] {1}), "cleaning", ERRORS, 1, AT);

    assertThatThrownBy(() -> earlier.payload(Integer.class))
        .isInstanceOf(ClassCastException.class)
        .hasMessage(
            "the dead letter of record 'r1' holds the input of stage 'ingestion', a"
                + " java.lang.String, not a java.lang.Integer; it failed at stage 'cleaning', whose"
                + " input the durable store could not keep: give that input a codec (s.codec(...)"
                + " on the stage before it) to keep it");
    assertThatThrownBy(() -> bytes.payload(String.class))
        .isInstanceOf(ClassCastException.class)
        .hasMessageContaining(
            "holds the input of stage 'cleaning', a byte[], not a java.lang.String")
        .hasMessageContaining("the stored bytes of a payload the store could not read back");
    assertThat(bytes.payload(byte[].class)).containsExactly(1);
  }
}
