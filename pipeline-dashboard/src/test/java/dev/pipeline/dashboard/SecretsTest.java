package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import dev.pipeline.SafeText;
import dev.pipeline.StageName;
import dev.pipeline.testkit.LogCapture;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * No secret (a URL's password, a token) reaches a log line of the dashboard or a page a viewer
 * reads; an operator edits a dead letter's payload as it is stored.
 */
class SecretsTest extends ServedPipeline {
  private static final String PASSWORD = "hunter2-pw";
  private static final String TOKEN = "t0psecret-tok3n";
  private static final String SECRET_TEXT =
      "cannot reach postgresql://app:"
          + PASSWORD
          + "@db/orders?password="
          + PASSWORD
          + " with Authorization: Bearer "
          + TOKEN;

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static void assertNoSecret(String what, String text) {
    assertThat(text).as(what).doesNotContain(PASSWORD).doesNotContain(TOKEN);
  }

  /** The dashboard's own log lines since the mark: at least one, none with a secret. */
  private static void assertLoggedMasked(int mark, String expected) {
    List<String> lines =
        LogCapture.since(mark).stream().filter(l -> l.contains("dev.pipeline.dashboard")).toList();
    assertThat(lines).as("the dashboard logged why").anyMatch(l -> l.contains(expected));
    assertThat(lines).anyMatch(l -> l.contains(SafeText.MASK));
    lines.forEach(l -> assertNoSecret("log line", l));
  }

  /** A quality source with a closed gate whose reopening fails with a secret in its message. */
  private static QualitySource failingReopen() {
    FakeQuality quality = new FakeQuality(QualitySource.GateState.CLOSED);
    return new QualitySource() {
      @Override
      public Snapshot quality(String pipeline) {
        return quality.quality(pipeline);
      }

      @Override
      public boolean reopen(String pipeline, String stage, String by) {
        throw new IllegalStateException(SECRET_TEXT);
      }
    };
  }

  @Test
  void aRequestThatFailsLogsAndShowsNoSecret() throws Exception {
    Http http = start(Dashboard.builder().quality(failingReopen()));
    String page = http.get("/quality?pipeline=orders").body();
    int mark = LogCapture.mark();
    HttpResponse<String> failed =
        http.post(
            "/quality/reopen", "pipeline=orders&stage=validation&csrf=" + enc(Http.csrf(page)));
    assertThat(failed.statusCode()).isEqualTo(500);
    assertNoSecret("error page", failed.body());
    assertLoggedMasked(mark, "IllegalStateException");
  }

  @Test
  void aFailingQualitySourceLogsNoSecret() throws Exception {
    QualitySource broken =
        pipeline -> {
          throw new IllegalStateException(SECRET_TEXT);
        };
    Http http = start(Dashboard.builder().quality(broken));
    int mark = LogCapture.mark();
    HttpResponse<String> page = http.get("/quality?pipeline=orders");
    assertThat(page.statusCode()).isEqualTo(503);
    assertNoSecret("error page", page.body());
    assertNoSecret("overview", http.get("/").body());
    assertLoggedMasked(mark, "the quality source failed");
  }

  /** A pipeline whose one dead letter carries secrets in its payload and its error. */
  private Pipeline<String, String> withSecretPayload() {
    pipeline.close();
    pipeline =
        Pipeline.builder("orders", String.class)
            .alerts(alert -> {})
            .stage(
                StageName.VALIDATION,
                (String s) -> {
                  if (s.startsWith("bad")) {
                    throw new IllegalStateException(s);
                  }
                  return s;
                })
            .build();
    Fixture.runWithIds(pipeline, List.of("bad order; " + SECRET_TEXT), s -> "secret-1");
    return pipeline;
  }

  @Test
  void aViewerSeesTheRecordsPayloadAndErrorsMasked() throws Exception {
    withSecretPayload();
    Http http = start(Dashboard.builder().anonymousRole(Role.VIEWER));
    String record = http.get("/record?pipeline=orders&id=secret-1").body();
    assertThat(record).contains("bad order; cannot reach postgresql://app:" + SafeText.MASK);
    assertNoSecret("record page", record);
    assertThat(record).doesNotContain("<textarea");
    String audit = http.get("/audit?pipeline=orders").body();
    assertNoSecret("audit trail", audit);
  }

  @Test
  void aViewerCannotFindADeadLetterBySearchingForItsSecret() throws Exception {
    withSecretPayload();
    Function<String, String> search = text -> "/dead-letters?pipeline=orders&text=" + enc(text);
    Http viewer = start(Dashboard.builder().anonymousRole(Role.VIEWER));
    assertThat(viewer.get(search.apply("bad order")).body()).contains("secret-1");
    assertThat(viewer.get(search.apply(PASSWORD)).body()).doesNotContain("secret-1");
    assertThat(viewer.get(search.apply(TOKEN)).body()).doesNotContain("secret-1");
    dashboard.close();
    Http operator = start(Dashboard.builder().anonymousRole(Role.OPERATOR));
    assertThat(operator.get(search.apply(PASSWORD)).body())
        .as("an operator searches the payload as stored")
        .contains("secret-1");
  }

  @Test
  void anOperatorEditsThePayloadAsStoredAndSeesItMaskedOutsideTheEditor() throws Exception {
    withSecretPayload();
    Http http = start(Dashboard.builder().anonymousRole(Role.OPERATOR));
    String record = http.get("/record?pipeline=orders&id=secret-1").body();
    int editor = record.indexOf("<textarea");
    assertThat(editor).as("an editor").isPositive();
    assertNoSecret("the page outside the editor", record.substring(0, editor));
    assertThat(record.substring(editor)).contains("password=" + PASSWORD);
  }
}
