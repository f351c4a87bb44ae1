package dev.pipeline.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.ErrorInfo;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class SecretsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void masksThePasswordsOfJdbcUrlsAndUrlUserInfo() {
    assertThat(
            Secrets.redact(
                "cannot connect to jdbc:postgresql://db:5432/orders?user=app&password=hunter2&ssl=true"))
        .isEqualTo(
            "cannot connect to jdbc:postgresql://db:5432/orders?user=app&password=***&ssl=true");
    assertThat(Secrets.redact("jdbc:h2:tcp://db/orders;USER=sa;PASSWORD=s3cr3t;MODE=PostgreSQL"))
        .isEqualTo("jdbc:h2:tcp://db/orders;USER=sa;PASSWORD=***;MODE=PostgreSQL");
    assertThat(Secrets.redact("GET https://app:p@ss:w0rd@api.example.com:8443/v1 failed"))
        .isEqualTo("GET https://app:***@api.example.com:8443/v1 failed");
    assertThat(Secrets.redact("mysql://root:toor@10.0.0.1/db"))
        .isEqualTo("mysql://root:***@10.0.0.1/db");
    assertThat(Secrets.redact("ssh://git@example.com:22/repo and http://host:8080/x"))
        .as("a user without a password, and a port, are not secrets")
        .isEqualTo("ssh://git@example.com:22/repo and http://host:8080/x");
  }

  @Test
  void masksTheValuesOfSettingsWhoseNamesLookSecret() {
    assertThat(
            Secrets.redact(
                "GET /v1/items?api_key=AbC123&access_token=xyz&page=2 returned 401, client_secret:"
                    + " q9w8e7, X-Amz-Signature=deadbeef, {password=pw1, user=bob}"))
        .isEqualTo(
            "GET /v1/items?api_key=***&access_token=***&page=2 returned 401, client_secret: ***,"
                + " X-Amz-Signature=***, {password=***, user=bob}");
    assertThat(Secrets.redact("body {\"user\":\"bob\",\"password\": \"two words\",\"n\":1}"))
        .isEqualTo("body {\"user\":\"bob\",\"password\": \"***\",\"n\":1}");
    assertThat(Secrets.redact("escaped {\\\"token\\\":\\\"abc\\\"}"))
        .isEqualTo("escaped {\\\"token\\\":\\\"***\\\"}");
    assertThat(Secrets.redact("spring.datasource.password=pw sig=abc&auth=xyz"))
        .isEqualTo("spring.datasource.password=*** sig=***&auth=***");
  }

  @Test
  void masksAuthorizationHeadersBearerTokensAwsKeysAndJsonWebTokens() {
    assertThat(Secrets.redact("request headers:\nAuthorization: Bearer eyabc.def-123\nAccept: */*"))
        .isEqualTo("request headers:\nAuthorization: Bearer ***\nAccept: */*");
    assertThat(Secrets.redact("Proxy-Authorization: Basic dXNlcjpwYXNz"))
        .isEqualTo("Proxy-Authorization: Basic ***");
    assertThat(Secrets.redact("Cookie: session=abc; theme=dark\nnext line"))
        .isEqualTo("Cookie: ***\nnext line");
    assertThat(Secrets.redact("{authorization=Bearer abc.def}"))
        .isEqualTo("{authorization=Bearer ***}");
    assertThat(Secrets.redact("401 for bearer 0123456789abcdef (expired)"))
        .isEqualTo("401 for bearer *** (expired)");
    assertThat(Secrets.redact("key AKIAIOSFODNN7EXAMPLE was refused"))
        .isEqualTo("key *** was refused");
    assertThat(
            Secrets.redact(
                "bad jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"))
        .isEqualTo("bad jwt ***");
  }

  @Test
  void leavesOrdinaryTextAloneAndMaskingTwiceChangesNothing() {
    for (String plain :
        List.of(
            "",
            "FATAL: password authentication failed for user \"app\"",
            "duplicate key value violates unique constraint: Key (id)=(42) already exists.",
            "Unrecognized token 'abc': was expecting (JSON String, Number, Array, Object)",
            "timeout after 30004ms at https://api.example.com/v1/items?page=2",
            "a basic error: bearer of bad news",
            "ünïcödé 日本 \uD83D\uDE00")) {
      assertThat(Secrets.redact(plain)).as(plain).isSameAs(plain);
    }
    String masked =
        Secrets.redact(
            "postgresql://a:b@h/d?password=x Authorization: Bearer tok\n"
                + "\"secret\": \"y\" AKIAIOSFODNN7EXAMPLE");
    assertThat(Secrets.redact(masked)).isSameAs(masked);
  }

  @Test
  void hostileInputTakesLinearTime() {
    // each would make a backtracking pattern or a rescan per match quadratic: 4 Mi characters
    // then take hours, a linear pass well under a second
    List<String> hostile =
        List.of(
            "password=".repeat(400_000),
            "a://b:".repeat(600_000),
            "x://" + "a:".repeat(2_000_000),
            "Bearer ".repeat(500_000),
            "\"token\":\"".repeat(400_000),
            "authorization: basic ".repeat(200_000),
            "eyJ.".repeat(1_000_000),
            "A".repeat(4_000_000));
    for (String text : hostile) {
      long start = System.nanoTime();
      Secrets.redact(text);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("%s...", text.substring(0, 12))
          .isLessThan(Duration.ofSeconds(5));
    }
  }

  @Test
  void anErrorsMessageAndStackTraceAreMaskedWhenTheyAreKept() {
    Exception driver =
        new IllegalStateException(
            "cannot open jdbc:postgresql://db/orders?user=app&password=hunter2",
            new RuntimeException("Authorization: Bearer abcdefgh12345678"));

    ErrorInfo info = ErrorText.defaults().info("enrich", driver, 1, T0);

    assertThat(info.message())
        .isEqualTo("cannot open jdbc:postgresql://db/orders?user=app&password=***");
    assertThat(info.stackTrace()).contains("password=***", "Bearer ***");
    assertThat(info.message() + info.stackTrace()).doesNotContain("hunter2", "abcdefgh12345678");
    assertThat(ErrorText.describeDefault(driver)).doesNotContain("hunter2");
    assertThat(ErrorText.loggable("https://u:hunter2@host/x")).isEqualTo("https://u:***@host/x");
  }

  @Test
  void aSecretAcrossTheCutIsMaskedWholeAndTheCutCountsTheOriginal() {
    String text = "x".repeat(300) + "?token=" + "s".repeat(500) + " " + "y".repeat(10_000);

    String kept = ErrorText.redacted(text, 400);

    // the kept text stands for 300 + 7 + 500 + 1 + 89 characters of the original
    assertThat(kept)
        .isEqualTo("x".repeat(300) + "?token=*** " + "y".repeat(89) + "… [cut 9,911 chars]");
  }
}
