package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.AuditQuery;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QualityPageTest extends ServedPipeline {
  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private List<AuditEntry> reopenLines() {
    return pipeline.auditTrail(AuditQuery.all().containing("quality gate reopened")).items();
  }

  @Test
  void showsEachGatesStateRuleFailuresScoresAndDriftEscaped() throws Exception {
    Http http = start(Dashboard.builder().quality(new FakeQuality(QualitySource.GateState.CLOSED)));
    HttpResponse<String> page = http.get("/quality?pipeline=orders");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body())
        .contains(
            "lvl-red\" data-live=\"q.g.validation.state\">closed: holding records",
            "&lt;img src=x onerror=alert(1)&gt;price.missing",
            "data-live=\"q.g.validation.r.hours.impossible\">2<",
            "data-live=\"q.g.validation.r.hours.impossible.share\">2%<",
            "currency: PSI 0.41 (alert), new value &lt;b&gt;XBT&lt;/b&gt;",
            "year: PSI 0.12 (warn)",
            "Reopen gate",
            "name=\"csrf\"")
        .as("the newest window's scores, coloured by level")
        .contains(
            "lvl-green\" data-live=\"q.s.validation.overall\">96.3<",
            "lvl-amber\" data-live=\"q.s.validation.COMPLETENESS\">93.0<")
        .doesNotContain("<img src=x", "<b>XBT");
    assertThat(page.body().indexOf(FakeQuality.HOSTILE_DRIFT.substring(0, 8)))
        .as("findings newest first")
        .isLessThan(page.body().indexOf("year: PSI"));
    String json = http.get("/api/live/quality?pipeline=orders").body();
    assertThat(json).contains("q.g.validation.state", "XBT").doesNotContain("<");
    assertThat(http.get("/").body())
        .as("the navigation links to the page")
        .contains("href=\"/quality?pipeline=orders\">Quality</a>");
  }

  @Test
  void withoutASourceThereIsNoQualityLinkAndThePageSaysHowToAddOne() throws Exception {
    Http http = start(Dashboard.builder());
    assertThat(http.get("/").body()).doesNotContain("/quality?");
    assertThat(http.get("/quality?pipeline=orders").body())
        .contains("No quality source is configured");
    assertThat(http.post("/quality/reopen", "pipeline=orders&stage=validation").statusCode())
        .isEqualTo(403);
  }

  @Test
  void reopeningNeedsTheSessionsCsrfTokenAndIsAuditedWithWhoDidIt() throws Exception {
    FakeQuality quality = new FakeQuality(QualitySource.GateState.CLOSED);
    Http http = start(Dashboard.builder().quality(quality));
    String form = "pipeline=orders&stage=validation";
    assertThat(http.post("/quality/reopen", form).statusCode()).as("no session").isEqualTo(403);
    String page = http.get("/quality?pipeline=orders").body();
    assertThat(http.post("/quality/reopen", form).statusCode()).as("no token").isEqualTo(403);
    assertThat(http.post("/quality/reopen", form + "&csrf=forged").statusCode()).isEqualTo(403);
    assertThat(http.get("/quality/reopen?" + form).statusCode())
        .as("GET never changes state")
        .isEqualTo(404);
    assertThat(quality.reopened()).isZero();
    assertThat(reopenLines()).isEmpty();

    HttpResponse<String> done =
        http.post("/quality/reopen", form + "&csrf=" + enc(Http.csrf(page)));
    assertThat(done.statusCode()).isEqualTo(303);
    assertThat(done.headers().firstValue("Location")).hasValue("/quality?pipeline=orders");
    assertThat(quality.reopened()).isEqualTo(1);
    assertThat(quality.reopenedBy()).isEqualTo(Request.ANONYMOUS);
    assertThat(http.get("/quality?pipeline=orders").body())
        .contains("the quality gate at stage validation was reopened", "open</span>")
        .doesNotContain("Reopen gate");
    List<AuditEntry> lines = reopenLines();
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0).stage()).isEqualTo("validation");
    assertThat(lines.get(0).event()).isEqualTo("gate-reopened");
    assertThat(lines.get(0).metadata()).containsEntry("by", "dashboard");
    assertThat(http.get("/audit?pipeline=orders&text=gate").body())
        .contains("quality gate reopened by dashboard from the dashboard");

    assertThat(http.post("/quality/reopen", form + "&csrf=" + enc(Http.csrf(page))).statusCode())
        .isEqualTo(303);
    assertThat(quality.reopened()).as("an open gate is not reopened again").isEqualTo(1);
  }

  @Test
  void aSignedInOperatorReopensUnderTheirNameAndAViewerCannot() throws Exception {
    FakeQuality quality = new FakeQuality(QualitySource.GateState.TRIAL);
    Http http =
        start(
            Dashboard.builder()
                .quality(quality)
                .user("ops-anna", "correct horse battery", Role.OPERATOR)
                .user("viewer-vic", "correct horse battery", Role.VIEWER));
    http.authorization(basic("viewer-vic"));
    String viewed = http.get("/quality?pipeline=orders").body();
    assertThat(viewed).contains("on trial").doesNotContain("Reopen gate", "name=\"csrf\"");
    assertThat(http.post("/quality/reopen", "pipeline=orders&stage=validation").statusCode())
        .isEqualTo(403);
    assertThat(quality.reopened()).isZero();

    Http operator = new Http(dashboard.url()).authorization(basic("ops-anna"));
    String csrf = Http.csrf(operator.get("/quality?pipeline=orders").body());
    assertThat(
            operator
                .post("/quality/reopen", "pipeline=orders&stage=nowhere&csrf=" + enc(csrf))
                .statusCode())
        .as("no gate at that stage")
        .isEqualTo(404);
    assertThat(
            operator
                .post("/quality/reopen", "pipeline=orders&stage=validation&csrf=" + enc(csrf))
                .statusCode())
        .isEqualTo(303);
    assertThat(quality.reopenedBy()).isEqualTo("ops-anna");
    assertThat(reopenLines())
        .singleElement()
        .satisfies(l -> assertThat(l.message()).contains("ops-anna"));
  }

  private static String basic(String user) {
    return "Basic "
        + java.util.Base64.getEncoder()
            .encodeToString((user + ":correct horse battery").getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void theOverviewListsClosedGatesAndDriftAlertsAmongWhatNeedsAttention() throws Exception {
    Http http = start(Dashboard.builder().quality(new FakeQuality(QualitySource.GateState.CLOSED)));
    String overview = http.get("/").body();
    assertThat(overview)
        .contains(
            "quality gate at stage validation is closed",
            "drift at stage extraction: currency: PSI 0.41 (alert), new value &lt;b&gt;XBT")
        .as("warnings stay on the quality page")
        .doesNotContain("year: PSI 0.12");
  }

  @Test
  void aFailingSourceGetsAnErrorPageAndTheOverviewStillAnswers() throws Exception {
    QualitySource broken =
        pipeline -> {
          throw new IllegalStateException("jdbc:postgresql://db/quality?password=secret");
        };
    Http http = start(Dashboard.builder().quality(broken));
    HttpResponse<String> page = http.get("/quality?pipeline=orders");
    assertThat(page.statusCode()).isEqualTo(503);
    assertThat(page.body()).contains("IllegalStateException").doesNotContain("secret");
    HttpResponse<String> overview = http.get("/");
    assertThat(overview.statusCode()).isEqualTo(200);
    assertThat(overview.body())
        .contains("the quality source did not answer")
        .doesNotContain("secret");
  }

  @Test
  void theSourcesValuesAreCheckedWhenMade() {
    assertThatThrownBy(
            () ->
                new QualitySource.Score(
                    "validation", Instant.EPOCH, Map.of("VALIDITY", 101.0), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("from 0 to 100");
    assertThatThrownBy(
            () ->
                new QualitySource.Gate(
                    "validation", QualitySource.GateState.OPEN, -1, 0, 0, 0, Map.of(), false))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Dashboard.builder().quality(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("source cannot be null");
  }
}
