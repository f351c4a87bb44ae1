package dev.pipeline.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.store.ErrorInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ErrorTextTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void escapesLineBreaksTerminalEscapesAndBidiControlsAndEscapingTwiceChangesNothing() {
    String hostile = "a\r\nb\tc\u001B[31md\u0000e\u0085f\u2028g\u2029h\u202Ei\u2066j\u007Fk";

    String escaped = ErrorText.escape(hostile);

    assertThat(escaped)
        .isEqualTo(
            "a\\r\\nb\\tc\\u001B[31md\\u0000e\\u0085f\\u2028g\\u2029h\\u202Ei\\u2066j\\u007Fk");
    assertThat(ErrorText.escape(escaped)).isSameAs(escaped);
    assertThat(ErrorText.escape("plain text, ünïcödé, 日本")).isEqualTo("plain text, ünïcödé, 日本");
    assertThat(ErrorText.firstControl("abc\u202Ed")).isEqualTo(3);
    assertThat(ErrorText.firstControl("abc")).isEqualTo(-1);
  }

  @Test
  void cutsTextSayingHowMuchWasCutAndNeverHalvesASurrogatePair() {
    assertThat(ErrorText.cut("x".repeat(2_000), 500))
        .isEqualTo("x".repeat(500) + "… [cut 1,500 chars]");
    assertThat(ErrorText.cut("short", 500)).isEqualTo("short");
    String emoji = "ab\uD83D\uDE00cd";
    assertThat(ErrorText.cut(emoji, 3)).isEqualTo("ab… [cut 4 chars]");
  }

  @Test
  void limitsOutOfRangeAreRefusedWithTheRange() {
    assertThatThrownBy(() -> ErrorText.of(255, 20_000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("errorTextLimits: messageChars must be between 256 and 1048576, was 255");
    assertThatThrownBy(() -> ErrorText.of(4_096, (1 << 20) + 1))
        .hasMessage("errorTextLimits: stackChars must be between 256 and 1048576, was 1048577");
    assertThat(ErrorText.of(256, 1 << 20).stackChars()).isEqualTo(1 << 20);
  }

  @Test
  void aThrowingGetStackTraceOrGetCauseGivesATraceWithoutThem() {
    RuntimeException odd =
        new RuntimeException("odd") {
          private static final long serialVersionUID = 1L;

          @Override
          public StackTraceElement[] getStackTrace() {
            throw new IllegalStateException("no frames");
          }

          @Override
          public synchronized Throwable getCause() {
            throw new IllegalStateException("no cause");
          }
        };

    assertThat(ErrorText.defaults().stackTrace(odd)).endsWith(": odd\n");
    assertThat(ErrorText.defaults().describe(odd)).endsWith(": odd");
  }

  @Test
  void anErrorsInfoHasItsMessageMaskedOnceAndTheSameTraceAsAStackTraceOfItsOwn() {
    // info() masks the message once and reuses it for the trace's first line; frames' text is
    // kept from trace to trace: neither may change what is stored
    IllegalStateException cause = new IllegalStateException("inner\npassword=hunter2 line");
    RuntimeException error = new RuntimeException("failed: token=abc123XYZ\u001b[31m", cause);
    ErrorText text = ErrorText.of(256, 1 << 20);

    for (int i = 0; i < 3; i++) {
      ErrorInfo info = text.info("cleaning", error, 2, T0);

      assertThat(info.message()).isEqualTo(text.message(error)).doesNotContain("abc123XYZ");
      assertThat(info.stackTrace()).isEqualTo(text.stackTrace(error));
      assertThat(info.stackTrace())
          .startsWith(RuntimeException.class.getName() + ": " + ErrorText.escape(info.message()))
          .contains("Caused by: ")
          .contains("\tat " + ErrorText.escape(String.valueOf(error.getStackTrace()[0])) + "\n")
          .doesNotContain("hunter2")
          .doesNotContain("\u001b");
    }
    RuntimeException silent = new RuntimeException();
    assertThat(text.info("cleaning", silent, 1, T0).stackTrace())
        .isEqualTo(text.stackTrace(silent))
        .startsWith(RuntimeException.class.getName() + "\n");
  }

  @Test
  void aHistoryKeepsTheFirstErrorTheLastEightAndCountsTheDroppedOnesAcrossMerges() {
    List<ErrorInfo> history = List.of();
    for (int attempt = 1; attempt <= 100; attempt++) {
      history = ErrorText.append(history, List.of(error(attempt)));
      assertThat(history.size()).isLessThanOrEqualTo(10);
    }

    assertThat(history).hasSize(10);
    assertThat(history.get(0).attempt()).isEqualTo(1);
    assertThat(ErrorText.isDropped(history.get(1))).isTrue();
    assertThat(ErrorText.count(history.get(1))).isEqualTo(91);
    assertThat(history.subList(2, 10))
        .extracting(ErrorInfo::attempt)
        .containsExactly(93, 94, 95, 96, 97, 98, 99, 100);
    int total = 0;
    for (ErrorInfo e : history) {
      total += ErrorText.count(e);
    }
    assertThat(total).as("errors the history stands for").isEqualTo(100);
    List<ErrorInfo> few = new ArrayList<>(List.of(error(1), error(2)));
    assertThat(ErrorText.bounded(few)).isSameAs(few);
  }

  private static ErrorInfo error(int attempt) {
    return ErrorInfo.of("cleaning", new IllegalStateException("try " + attempt), attempt, T0);
  }
}
