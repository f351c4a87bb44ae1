package dev.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The public masking API: what a stage or another module gets from it, on hostile text. */
class SafeTextTest {

  @Test
  void masksPasswordsInUrlsJdbcUrlsAndSettings() {
    assertThat(SafeText.masked("connect to postgresql://app:hunter2@db:5432/orders failed"))
        .isEqualTo("connect to postgresql://app:***@db:5432/orders failed");
    assertThat(SafeText.masked("jdbc:postgresql://db/orders?user=app&password=hunter2&ssl=true"))
        .isEqualTo("jdbc:postgresql://db/orders?user=app&password=***&ssl=true");
    assertThat(SafeText.masked("jdbc:h2:tcp://db/x;USER=sa;PASSWORD=s3cret;MODE=PostgreSQL"))
        .isEqualTo("jdbc:h2:tcp://db/x;USER=sa;PASSWORD=***;MODE=PostgreSQL");
    assertThat(SafeText.loggable("retry with password=hunter2 and api_key=k-123"))
        .isEqualTo("retry with password=*** and api_key=***");
    assertThat(SafeText.loggable("Authorization: Bearer abc.def.ghi"))
        .isEqualTo("Authorization: Bearer ***");
  }

  @Test
  void loggableTextCannotForgeALogLineOrDriveATerminal() {
    String hostile = "id-1\n12:00:00 [main] ERROR forged\r\u001B[2J\u202Eevil\u200B\uFEFF\u0000";

    String line = SafeText.loggable(hostile);

    assertThat(line)
        .isEqualTo(
            "id-1\\n12:00:00 [main] ERROR forged\\r\\u001B[2J\\u202Eevil\\u200B\\uFEFF\\u0000");
    assertThat(SafeText.loggable(line)).as("escaping twice changes nothing").isEqualTo(line);
    assertThat(SafeText.masked(hostile)).as("masking alone does not escape").isEqualTo(hostile);
  }

  @Test
  void longTextIsCutAndReadOnlyUpToTheCutWhateverItsLength() {
    String huge = "password=" + "p".repeat(500) + " " + "x".repeat(10_000_000);

    String kept = SafeText.masked(huge, 100);
    String line = SafeText.loggable(huge, 100);

    assertThat(kept).startsWith("password=*** " + "x".repeat(87)).endsWith(" chars]");
    assertThat(kept).doesNotContain("ppp").hasSizeLessThan(130);
    assertThat(line).isEqualTo(kept);
    assertThat(SafeText.loggable("y".repeat(SafeText.DEFAULT_MAX_CHARS + 5)))
        .isEqualTo("y".repeat(SafeText.DEFAULT_MAX_CHARS) + "… [cut 5 chars]");
  }

  @Test
  void anExceptionIsDescribedOnOneLineWithItsSecretsMasked() {
    Exception driver =
        new IllegalArgumentException(
            "FATAL: no pg_hba.conf entry for jdbc:postgresql://db/x?password=hunter2\nERROR forged",
            new IllegalStateException("token=abc123"));

    assertThat(SafeText.describe(driver))
        .isEqualTo(
            "java.lang.IllegalArgumentException: FATAL: no pg_hba.conf entry for"
                + " jdbc:postgresql://db/x?password=***\\nERROR forged");
    assertThat(SafeText.stackTrace(driver))
        .contains("password=***", "Caused by: java.lang.IllegalStateException: token=***")
        .doesNotContain("hunter2", "abc123", "\nERROR forged");
  }

  @Test
  void isTotalOnNullAndOnObjectsWhoseMethodsThrow() {
    Object evil =
        new Object() {
          @Override
          public String toString() {
            throw new IllegalStateException("password=hunter2");
          }
        };
    RuntimeException evilError =
        new RuntimeException() {
          @Override
          public String getMessage() {
            throw new IllegalStateException("no");
          }
        };

    assertThat(SafeText.loggable(null)).isEqualTo("null");
    assertThat(SafeText.loggable(evil))
        .isEqualTo("[toString() threw java.lang.IllegalStateException]");
    assertThat(SafeText.masked(evil, 50))
        .isEqualTo("[toString() threw java.lang.IllegalStateException]");
    assertThat(SafeText.describe(evilError))
        .endsWith("[getMessage() threw java.lang.IllegalStateException]");
  }

  @Test
  void textWithNothingToMaskIsReturnedAsItIs() {
    String plain = "duplicate key value violates unique constraint \"orders_pkey\"";

    assertThat(SafeText.masked(plain)).isSameAs(plain);
    assertThat(SafeText.loggable(plain)).isSameAs(plain);
  }

  @Test
  void aLimitOutOfRangeIsRefusedWithTheRange() {
    assertThatThrownBy(() -> SafeText.loggable("x", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxChars must be between 1 and 1048576, was 0");
    assertThatThrownBy(() -> SafeText.masked("x", SafeText.MAX_CHARS + 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("between 1 and 1048576");
  }
}
