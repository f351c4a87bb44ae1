package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Pipeline;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.store.AuditQuery;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.testkit.ManualClock;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class DashboardHttpTest extends ServedPipeline {
  private List<DeadLetter> deadLetters() {
    return pipeline.deadLetters().find(DeadLetterQuery.all()).items();
  }

  /** An attribute's value as a browser reads it from the page's markup. */
  private static String attribute(String markup) {
    return markup
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  @Test
  void bindsLoopbackByDefault() {
    dashboard = Dashboard.builder().pipeline(pipeline).start();
    assertThat(dashboard.url().getHost()).isEqualTo("127.0.0.1");
  }

  @Test
  void overviewShowsEachPipelineItsStagesAndTheirHealth() throws Exception {
    Http http = start(Dashboard.builder());
    HttpResponse<String> page = http.get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body())
        .contains("orders", "cleaning", "validation", "Needs attention", "bottleneck")
        .as("5 of 25 records failed validation: red")
        .contains("lvl-red\" data-live=\"p.orders.s.validation.health\">20.0% failing");
  }

  @Test
  void theSinksAndTheStoreAreStagesOfTheOverviewTheBottleneckAndWhatNeedsAttention()
      throws Exception {
    try (Pipeline<String, String> routes = Fixture.routed(ManualClock.create(), 6)) {
      Http http = start(Dashboard.builder().pipeline(routes));
      String overview = http.get("/").body();
      assertThat(overview)
          .as("a row per stage of the report, linked to its page")
          .contains(
              "/stage?pipeline=routes&amp;stage=by-kind%2Fwords%2Fsink",
              "/stage?pipeline=routes&amp;stage=sink",
              "/stage?pipeline=routes&amp;stage=store",
              "/stage?pipeline=orders&amp;stage=store")
          .as("the branch's sink, busy a second per call, limits the run")
          .containsPattern(
              "data-live=\"p\\.routes\\.bottleneck\">by-kind/words/sink \\(\\d+(\\.\\d)?% busy\\)")
          .containsPattern(
              "by-kind%2Fwords%2Fsink\">by-kind/words/sink</a> <span class=\"tag\">bottleneck</span>")
          .contains("lvl-red\" data-live=\"p.routes.s.by-kind/words/sink.health\">circuit open")
          .contains("branch sink by-kind/words/sink: circuit open");
      HttpResponse<String> page =
          http.get("/stage?pipeline=routes&stage=" + enc(Fixture.WORD_SINK));
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body())
          .contains("routes · stage by-kind/words/sink")
          .contains("data-live=\"st.circuit\">open")
          .as("its retry policy, as the branch's sink's options say")
          .contains("<dt>retry policy</dt>");
      for (String search : List.of("/dead-letters?pipeline=routes", "/audit?pipeline=routes")) {
        assertThat(http.get(search).body())
            .as("%s filters by the branch's sink too", search)
            .contains("<option value=\"by-kind/words/sink\">by-kind/words/sink</option>");
      }
      assertThat(http.get("/stage?pipeline=orders&stage=store").statusCode()).isEqualTo(200);
      assertThat(http.get("/stage?pipeline=orders&stage=sink").statusCode())
          .as("orders has no sink")
          .isEqualTo(404);
    }
  }

  @Test
  void everyResponseCarriesTheSecurityHeaders() throws Exception {
    Http http = start(Dashboard.builder());
    for (String path : List.of("/", "/static/dashboard.js", "/no-such-page", "/api/live/")) {
      HttpResponse<String> response = http.get(path);
      assertThat(response.headers().firstValue("Content-Security-Policy"))
          .as(path)
          .hasValue(DashboardHandler.CSP);
      assertThat(DashboardHandler.CSP)
          .contains("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'")
          .doesNotContain("unsafe-inline");
      assertThat(response.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    }
  }

  @Test
  void aRecordErrorHoldingMarkupRendersAsText() throws Exception {
    Http http = start(Dashboard.builder());
    String id = deadLetters().get(0).recordId();
    for (String path :
        List.of("/dead-letters?pipeline=orders", "/record?pipeline=orders&id=" + enc(id))) {
      String body = http.get(path).body();
      assertThat(body)
          .as(path)
          .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; price missing")
          .doesNotContain("<script>alert");
    }
  }

  @Test
  void theLiveJsonEscapesMarkupToo() throws Exception {
    Http http = start(Dashboard.builder());
    String json = http.get("/api/live/?pipeline=orders").body();
    assertThat(json).contains("\"values\"", "p.orders.state").doesNotContain("<");
  }

  @Test
  void aPostWithoutTheSessionsCsrfTokenIsRefused() throws Exception {
    Http http = start(Dashboard.builder());
    String id = deadLetters().get(0).recordId();
    String form = "pipeline=orders&scope=selected&id=" + enc(id);
    assertThat(http.post("/dead-letters/reprocess", form).statusCode())
        .as("no session, no token")
        .isEqualTo(403);
    http.get("/dead-letters?pipeline=orders"); // a session now
    assertThat(http.post("/dead-letters/reprocess", form).statusCode())
        .as("no token")
        .isEqualTo(403);
    assertThat(http.post("/dead-letters/reprocess", form + "&csrf=forged").statusCode())
        .as("a wrong token")
        .isEqualTo(403);
    assertThat(deadLetters()).hasSize(5);
  }

  @Test
  void aPostWithTheTokenReprocessesAndRedirects() throws Exception {
    Http http = start(Dashboard.builder());
    String id = deadLetters().get(0).recordId();
    String csrf = Http.csrf(http.get("/dead-letters?pipeline=orders").body());
    HttpResponse<String> response =
        http.post(
            "/dead-letters/reprocess",
            "pipeline=orders&scope=selected&id=" + enc(id) + "&csrf=" + enc(csrf));
    assertThat(response.statusCode()).isEqualTo(303);
    assertThat(response.headers().firstValue("Location")).hasValue("/dead-letters?pipeline=orders");
    assertThat(pipeline.store().find("orders", id).orElseThrow().status())
        .isEqualTo(RecordStatus.READY);
    assertThat(http.get("/dead-letters?pipeline=orders").body())
        .contains("1 dead letters sent back to be processed again");
    assertThat(http.get("/audit?pipeline=orders&id=" + enc(id)).body())
        .as("anonymous on loopback acts as 'dashboard'")
        .contains("sent back for reprocessing by dashboard");
  }

  @Test
  void theAuditTrailRendersHostileMessagesAsTextAndPagesByCursor() throws Exception {
    Http http = start(Dashboard.builder());
    HttpResponse<String> first = http.get("/audit?pipeline=orders&level=WARN&limit=2");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.body())
        .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; price missing")
        .doesNotContain("<script>alert");
    List<String> seen = new ArrayList<>(rows(first.body()));
    assertThat(seen).hasSize(2);
    String page = first.body();
    while (true) {
      Matcher next = NEXT.matcher(page);
      if (!next.find()) {
        break;
      }
      String href = next.group(1).replace("&amp;", "&");
      assertThat(href).contains("level=WARN", "limit=2", "after=");
      page = http.get(href).body();
      seen.addAll(rows(page));
    }
    assertThat(seen)
        .as("every dead-lettered record once, over three pages")
        .containsExactlyInAnyOrder("order-21", "order-22", "order-23", "order-24", "order-25");

    assertThat(rows(http.get("/audit?pipeline=orders&text=BAD+ITEM+3").body()))
        .as("text ignores case")
        .isEmpty();
    assertThat(rows(http.get("/audit?pipeline=orders&text=PRICE+MISSING&id=order-23").body()))
        .containsExactly("order-23");
    assertThat(rows(http.get("/audit?pipeline=orders&stage=cleaning").body())).isEmpty();
    assertThat(rows(http.get("/audit?pipeline=orders&until=2000-01-01T00:00:00Z").body()))
        .isEmpty();
    assertThat(http.get("/audit?pipeline=orders&text=%3Cb%3Ehi").body())
        .as("the search echoed back is escaped")
        .contains("value=\"&lt;b&gt;hi\"")
        .doesNotContain("<b>hi");
    assertThat(http.get("/audit?pipeline=orders&level=LOUD").statusCode()).isEqualTo(400);
    assertThat(http.get("/audit?pipeline=orders&after=%3Cx%3E").statusCode()).isEqualTo(400);
    assertThat(http.get("/audit?pipeline=orders&limit=0").statusCode()).isEqualTo(400);

    String trace = http.get("/record?pipeline=orders&id=order-23").body();
    assertThat(trace)
        .contains("<h2>Audit trail</h2>", "dead-lettered", "/audit?pipeline=orders&amp;id=order-23")
        .doesNotContain("<script>alert");
    assertThat(http.get("/").body()).contains("href=\"/audit?pipeline=orders\"");
  }

  @Test
  void theAuditTrailPageUpdatesLiveWithItsFiltersKept() throws Exception {
    Http http = start(Dashboard.builder());
    String search = "/audit?pipeline=orders&level=WARN&text=price";
    String page = http.get(search).body();
    assertThat(page)
        .contains("data-live-rows=\"audit\"", "new ones matching appear as they come")
        .doesNotContain("next page");
    String live = http.get("/api/live" + search).body();
    assertThat(occurrences(live, "\"h\":\"/record")).isEqualTo(5);
    assertThat(live).contains("\"tables\"", "order-25").doesNotContain("<", "late-1");

    Fixture.runWithIds(
        pipeline, List.of("bad late one", "good late one"), s -> s.replace(' ', '-'));
    live = http.get("/api/live" + search).body();
    assertThat(occurrences(live, "\"h\":\"/record"))
        .as("the new dead letter's line, by the same filters")
        .isEqualTo(6);
    assertThat(live).contains("bad-late-one").doesNotContain("good-late-one", "<script>");
    assertThat(http.get("/api/live/audit?pipeline=orders&level=WARN&stage=cleaning").body())
        .doesNotContain("dead-lettered");

    String full = http.get("/api/live/audit?pipeline=orders&level=WARN&limit=6").body();
    assertThat(full).as("a full page links to the next one").doesNotContain("next page");
    Fixture.runWithIds(pipeline, List.of("bad later"), s -> s.replace(' ', '-'));
    assertThat(http.get("/api/live/audit?pipeline=orders&level=WARN&limit=6").body())
        .contains("next page", "after=");
  }

  private static int occurrences(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }

  private static final Pattern NEXT = Pattern.compile("href=\"([^\"]+)\">next page");

  private static final Pattern ROW =
      Pattern.compile("<td class=\"id\"><a href=\"[^\"]+\">([^<]+)</a></td><td>dead-lettered");

  /** The records of a page of the audit trail's dead-lettered lines. */
  private static List<String> rows(String html) {
    List<String> ids = new ArrayList<>();
    Matcher m = ROW.matcher(html);
    while (m.find()) {
      ids.add(m.group(1));
    }
    return ids;
  }

  @Test
  void anEditedPayloadIsSentBackAndProcessed() throws Exception {
    Http http = start(Dashboard.builder());
    String page = http.get("/record?pipeline=orders&id=order-22").body();
    assertThat(page).contains("<textarea name=\"payload\"", ">bad item 1</textarea>");
    String csrf = Http.csrf(page);
    String form = "pipeline=orders&id=order-22&payload=item+1+%3Cfixed%3E&csrf=" + enc(csrf);
    assertThat(
            http.post("/dead-letters/edit", "pipeline=orders&id=order-22&payload=x").statusCode())
        .as("no token")
        .isEqualTo(403);
    HttpResponse<String> sent = http.post("/dead-letters/edit", form);
    assertThat(sent.statusCode()).isEqualTo(303);
    assertThat(sent.headers().firstValue("Location"))
        .hasValue("/record?pipeline=orders&id=order-22");
    assertThat(http.get("/record?pipeline=orders&id=order-22").body())
        .contains("record order-22 sent back with the edited payload");
    assertThat(http.get("/audit?pipeline=orders&id=order-22").body())
        .contains(
            "edited-reprocessed", "payload edited and sent back for reprocessing by dashboard")
        .as("the payload itself is not in the audit trail")
        .doesNotContain("&lt;fixed&gt;");
    assertThat(http.post("/dead-letters/edit", form).statusCode()).isEqualTo(303);
    assertThat(http.get("/record?pipeline=orders&id=order-22").body())
        .contains("is no longer a dead letter: nothing was sent back");

    pipeline.resume();

    assertThat(pipeline.store().find("orders", "order-22").orElseThrow().status())
        .isEqualTo(RecordStatus.PUBLISHED);
    assertThat(deadLetters()).hasSize(4);
  }

  @Test
  void aRecordIdWithControlCharactersAndEdgeSpacesComesBackExactFromTheForms() throws Exception {
    String hostile = " bad\tid\nwith\u0001controls ";
    Fixture.runWithIds(pipeline, List.of("bad one"), item -> hostile);
    Http http = start(Dashboard.builder());
    assertThat(http.get("/record?pipeline=orders&id=" + enc(hostile)).body())
        .as("the trace of the id as it is, spaces at its ends included")
        .contains("<textarea")
        .doesNotContain("knows no record of that id");
    String page = http.get("/dead-letters?pipeline=orders").body();
    StringBuilder form = new StringBuilder("pipeline=orders&scope=selected");
    Matcher ticked = Pattern.compile("name=\"id\" value=\"([^\"]*)\"").matcher(page);
    while (ticked.find()) {
      form.append("&id=").append(enc(attribute(ticked.group(1))));
    }
    form.append("&csrf=").append(enc(Http.csrf(page)));
    assertThat(http.post("/dead-letters/reprocess", form.toString()).statusCode()).isEqualTo(303);
    assertThat(pipeline.store().find("orders", hostile).orElseThrow().status())
        .as("the form named the very record the page showed")
        .isEqualTo(RecordStatus.READY);
    assertThat(deadLetters()).isEmpty();
  }

  @Test
  void theLinkToARecordWithALongNonAsciiIdIsWhole() throws Exception {
    String id = "€".repeat(1_000); // 9,000 characters URL-encoded
    Fixture.runWithIds(pipeline, List.of("bad euro"), item -> id);
    Http http = start(Dashboard.builder());
    String link = Paths.record("", "orders", id);
    assertThat(http.get("/dead-letters?pipeline=orders").body())
        .contains("<a href=\"" + link.replace("&", "&amp;") + "\">");
    HttpResponse<String> trace = http.get(link);
    assertThat(trace.statusCode()).isEqualTo(200);
    assertThat(trace.body()).contains("<textarea").doesNotContain("knows no record of that id");
  }

  @Test
  void aPayloadAFormWouldChangeIsNotOfferedForEditingAndLineBreaksComeBackAsSent()
      throws Exception {
    Fixture.runWithIds(
        pipeline, List.of("bad\u0001x", "bad\nlines"), item -> "id-" + item.length());
    Http http = start(Dashboard.builder());
    String control = http.get("/record?pipeline=orders&id=id-5").body();
    assertThat(control).doesNotContain("<textarea").contains("cannot be edited here");
    String lines = http.get("/record?pipeline=orders&id=id-9").body();
    assertThat(lines).contains("<textarea");
    String form =
        "pipeline=orders&id=id-9&payload=" + enc("bad\r\nstill") + "&csrf=" + enc(Http.csrf(lines));
    assertThat(http.post("/dead-letters/edit", form).statusCode()).isEqualTo(303);
    pipeline.resume();
    DeadLetter again =
        deadLetters().stream().filter(d -> d.recordId().equals("id-9")).findFirst().orElseThrow();
    assertThat(again.record().payload()).isEqualTo("bad\nstill");
  }

  @Test
  void discardingByFilterNeedsAReasonAndTakesEveryMatch() throws Exception {
    Http http = start(Dashboard.builder());
    String csrf = Http.csrf(http.get("/dead-letters?pipeline=orders").body());
    String form = "pipeline=orders&scope=filter&stage=validation&text=item+3&csrf=" + enc(csrf);
    assertThat(http.post("/dead-letters/discard", form).statusCode()).isEqualTo(400);
    assertThat(http.post("/dead-letters/discard", form + "&reason=test+data").statusCode())
        .isEqualTo(303);
    assertThat(deadLetters()).hasSize(4).noneMatch(d -> d.recordId().equals("order-24"));
    assertThat(pipeline.store().find("orders", "order-24").orElseThrow().status())
        .isEqualTo(RecordStatus.DISCARDED);
  }

  @Test
  void getNeverChangesState() throws Exception {
    Http http = start(Dashboard.builder());
    String id = deadLetters().get(0).recordId();
    var before = pipeline.store().counts("orders");
    for (String path :
        List.of(
            "/",
            "/dead-letters?pipeline=orders&scope=filter",
            "/dead-letters/reprocess?pipeline=orders&scope=selected&id=" + enc(id),
            "/dead-letters/discard?pipeline=orders&scope=filter&reason=x",
            "/record?pipeline=orders&id=" + enc(id),
            "/retries?pipeline=orders",
            "/workers?pipeline=orders",
            "/stage?pipeline=orders&stage=validation",
            "/audit?pipeline=orders&level=WARN&text=script",
            "/audit?pipeline=orders&id=" + enc(id),
            "/api/live/audit?pipeline=orders",
            "/api/live/dead-letters?pipeline=orders")) {
      http.get(path);
    }
    assertThat(pipeline.store().counts("orders")).isEqualTo(before);
    assertThat(deadLetters()).hasSize(5);
    assertThat(pipeline.auditTrail(AuditQuery.all().containing("sent back")).items())
        .as("no reprocess was audited")
        .isEmpty();
  }

  @Test
  void aViewerSeesButCannotChange() throws Exception {
    Http http = start(Dashboard.builder().anonymousRole(Role.VIEWER));
    String page = http.get("/dead-letters?pipeline=orders").body();
    assertThat(page).contains("order-21").doesNotContain("Reprocess selected", "name=\"csrf\"");
    HttpResponse<String> response =
        http.post("/dead-letters/reprocess", "pipeline=orders&scope=selected&id=order-21");
    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(response.body()).contains("your role may view the dashboard, not change anything");
    assertThat(deadLetters()).hasSize(5);
  }

  @Test
  void usersMustAuthenticateAndSecretsAreComparedWhole() throws Exception {
    Http http =
        start(
            Dashboard.builder()
                .user("ops", "correct horse battery", Role.OPERATOR)
                .user("audit", "staple paper clips", Role.VIEWER)
                .token("t0ken-for-the-scripts-0123456789", Role.VIEWER));
    assertThat(http.get("/").statusCode()).isEqualTo(401);
    assertThat(http.get("/").headers().firstValue("WWW-Authenticate")).isPresent();
    assertThat(http.authorization(basic("ops", "correct horse batter")).get("/").statusCode())
        .isEqualTo(401);
    assertThat(http.authorization(basic("audit", "correct horse battery")).get("/").statusCode())
        .as("another user's password")
        .isEqualTo(401);
    assertThat(http.authorization("Bearer t0ken-for-the-scripts-012345678").get("/").statusCode())
        .isEqualTo(401);
    assertThat(http.authorization("Bearer t0ken-for-the-scripts-0123456789").get("/").body())
        .contains(">viewer<");
    HttpResponse<String> ops = http.authorization(basic("ops", "correct horse battery")).get("/");
    assertThat(ops.statusCode()).isEqualTo(200);
    assertThat(ops.body()).contains(">operator<").doesNotContain("correct horse");

    String csrf = Http.csrf(http.get("/dead-letters?pipeline=orders").body());
    assertThat(
            http.post(
                    "/dead-letters/discard",
                    "pipeline=orders&scope=selected&id=order-21&reason=test+data&csrf=" + enc(csrf))
                .statusCode())
        .isEqualTo(303);
    assertThat(pipeline.auditTrail(AuditQuery.all().recordId("order-21")).items())
        .filteredOn(line -> line.event().equals("discarded"))
        .singleElement()
        .satisfies(line -> assertThat(line.metadata()).containsEntry("by", "ops"))
        .satisfies(line -> assertThat(line.message()).isEqualTo("discarded by ops: test data"));
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void refusesToBindBeyondLoopbackWithoutAuthentication() {
    assertThatThrownBy(() -> Dashboard.builder().pipeline(pipeline).bind("0.0.0.0").start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("without authentication")
        .hasMessageContaining("user(name, password, role)");
    dashboard =
        Dashboard.builder()
            .pipeline(pipeline)
            .bind("0.0.0.0")
            .user("ops", "correct horse battery", Role.OPERATOR)
            .start();
    assertThat(dashboard.port()).isPositive();
  }

  @Test
  void badConfigurationFailsAtTheBuilder() {
    Dashboard.Builder builder = Dashboard.builder();
    assertThatThrownBy(() -> builder.port(70_000)).hasMessageContaining("0 to 65535");
    assertThatThrownBy(() -> builder.user("ops", "short", Role.OPERATOR))
        .hasMessageContaining("12 characters");
    assertThatThrownBy(() -> builder.token("short", Role.VIEWER)).hasMessageContaining("24");
    assertThatThrownBy(() -> builder.sampleEvery(java.time.Duration.ofMillis(1)))
        .hasMessageContaining("100 ms to 1 hour");
    assertThatThrownBy(() -> builder.historySize(1)).hasMessageContaining("10 to 100000");
    assertThatThrownBy(builder::start).hasMessageContaining("add at least one pipeline");
    assertThatThrownBy(
            () ->
                Dashboard.builder()
                    .pipeline(pipeline)
                    .anonymousRole(Role.VIEWER)
                    .user("ops", "correct horse battery", Role.OPERATOR)
                    .start())
        .hasMessageContaining("anonymousRole applies only without users");
  }

  @Test
  void badRequestsGetAnErrorPageAndTheServerGoesOn() throws Exception {
    Http http = start(Dashboard.builder());
    assertThat(http.get("/?x=" + "a".repeat(17_000)).statusCode()).isEqualTo(414);
    assertThat(http.get("/dead-letters?pipeline=orders&since=yesterday").statusCode())
        .isEqualTo(400);
    assertThat(http.get("/dead-letters?pipeline=orders&limit=100000").statusCode()).isEqualTo(400);
    assertThat(http.get("/dead-letters?pipeline=nope").statusCode()).isEqualTo(404);
    assertThat(http.get("/dead-letters?pipeline=orders&after=garbage").statusCode()).isEqualTo(400);
    assertThat(http.get("/stage?pipeline=orders&stage=%3Cscript%3E").body())
        .doesNotContain("<script>");
    assertThat(http.get("/record?pipeline=orders").statusCode()).isEqualTo(400);
    assertThat(
            http.send(
                    HttpRequest.newBuilder(dashboard.url().resolve("/"))
                        .method("DELETE", HttpRequest.BodyPublishers.noBody()))
                .statusCode())
        .isEqualTo(405);
    String csrf = Http.csrf(http.get("/dead-letters?pipeline=orders").body());
    assertThat(
            http.post("/dead-letters/reprocess", "csrf=" + csrf + "&x=" + "a".repeat(300_000))
                .statusCode())
        .isEqualTo(413);
    StringBuilder many = new StringBuilder("csrf=" + csrf);
    for (int i = 0; i < 2_000; i++) {
      many.append("&id=").append(i);
    }
    assertThat(http.post("/dead-letters/reprocess", many.toString()).statusCode()).isEqualTo(400);
    assertThat(
            http.send(
                    HttpRequest.newBuilder(dashboard.url().resolve("/dead-letters/reprocess"))
                        .header("Content-Type", "text/plain")
                        .POST(HttpRequest.BodyPublishers.ofString("csrf=" + csrf)))
                .statusCode())
        .isEqualTo(415);
    assertThat(http.get("/").statusCode()).isEqualTo(200);
  }

  @Test
  void deadLettersAreSearchedByStageTypeTimeAndText() throws Exception {
    Http http = start(Dashboard.builder());
    assertThat(http.get("/dead-letters?pipeline=orders&text=ITEM+2").body())
        .contains("order-23")
        .doesNotContain("order-22\"");
    assertThat(http.get("/dead-letters?pipeline=orders&type=IllegalStateException").body())
        .contains("5 shown");
    assertThat(http.get("/dead-letters?pipeline=orders&type=TimeoutException").body())
        .contains("0 shown", "no dead letters match");
    assertThat(http.get("/dead-letters?pipeline=orders&stage=cleaning").body()).contains("0 shown");
    assertThat(http.get("/dead-letters?pipeline=orders&until=2000-01-01T00:00:00Z").body())
        .contains("0 shown");
    assertThat(http.get("/dead-letters?pipeline=orders&limit=2").body())
        .contains("2 shown", "next page");
  }

  @Test
  void aRecordsTraceShowsItsStateErrorsAndPayload() throws Exception {
    Http http = start(Dashboard.builder());
    String body = http.get("/record?pipeline=orders&id=order-21").body();
    assertThat(body).contains("dead_letter", "validation", "IllegalStateException", "bad item 0");
    assertThat(http.get("/record?pipeline=orders&id=order-1").body()).contains("published");
    assertThat(http.get("/record?pipeline=orders&id=unknown").body())
        .contains("knows no record of that id");
  }

  @Test
  void theStagePageAndTheChartDataFollowTheSamples() throws Exception {
    dashboard =
        Dashboard.builder().pipeline(pipeline).sampleEvery(java.time.Duration.ofHours(1)).start();
    Http http = new Http(dashboard.url());
    String page = http.get("/stage?pipeline=orders&stage=validation").body();
    assertThat(page).contains("data-series=\"/api/series?pipeline=orders&amp;stage=validation\"");
    assertThat(page).contains("circuit", "batch size", "IllegalStateException: 5");
    assertThat(page)
        .as("the fixture does not sample resources")
        .contains("id=\"resources-not-sampled\"", "CPU and memory: not sampled")
        .doesNotContain("data-metric=\"cpu\"");
    assertThat(http.get("/api/series?pipeline=orders&stage=validation").body())
        .startsWith("{\"t\":[")
        .containsPattern("\"cpu\":\\[\\[null(,null)*\\]\\]");
    assertThat(http.get("/retries?pipeline=orders").statusCode()).isEqualTo(200);
    assertThat(http.get("/workers?pipeline=orders").body()).contains("no other worker");
  }

  @Test
  void theStagePageChartsCpuAndAllocationFromTheStoredWindowsWhenSampled() throws Exception {
    try (Pipeline<String, String> sampled =
        Pipeline.builder("sampled", String.class)
            .resourceSampling(true)
            .stage(StageName.CLEANING, (String s) -> s.repeat(100).strip())
            .sink(records -> {})
            .build()) {
      sampled.run(Source.of("s", IntStream.range(0, 2_000).mapToObj(i -> " x" + i).iterator()));
      // the other charts' source has nothing (as a sampler's points, it would carry no CPU): the
      // CPU and allocation charts read the stored windows all the same
      dashboard =
          Dashboard.builder().pipeline(sampled).history((p, stage, since) -> List.of()).start();
      Http http = new Http(dashboard.url());

      String page = http.get("/stage?pipeline=sampled&stage=cleaning").body();
      assertThat(page)
          .contains("data-metric=\"cpu\"", "CPU (cores)", "data-metric=\"alloc\"")
          .doesNotContain("resources-not-sampled");
      String series = http.get("/api/series?pipeline=sampled&stage=cleaning").body();
      Matcher cpu = Pattern.compile("\"cpu\":\\[\\[([^\\]]*)\\]\\]").matcher(series);
      assertThat(cpu.find()).as(series).isTrue();
      assertThat(series).contains("\"t\":[]", "\"t.cpu\":[1");
      assertThat(cpu.group(1).split(","))
          .as("every stored window of the run was sampled: a number of cores, never null")
          .isNotEmpty()
          .allSatisfy(v -> assertThat(Double.parseDouble(v)).isNotNegative());
    }
  }

  @Test
  void theOverviewStillAnswersWhenTheStoreDoesNot() throws Exception {
    dev.pipeline.jdbc.JdbcPipelineStore store =
        dev.pipeline.jdbc.JdbcPipelineStore.builder()
            .jdbcUrl("jdbc:h2:mem:dash_" + System.nanoTime() + ";DB_CLOSE_DELAY=-1", null, null)
            .build();
    try (Pipeline<String, String> durable = Fixture.pipeline(store)) {
      Fixture.run(durable, 10, 1);
      dashboard = Dashboard.builder().pipeline(durable).start();
      store.close();
      HttpResponse<String> page = new Http(dashboard.url()).get("/");
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body())
          .contains("the store of orders did not answer (", "validation")
          .doesNotContain("jdbc:h2");
    }
  }

  @Test
  void withoutAuthenticationOnlyLoopbackHostNamesAreAnswered() throws Exception {
    start(Dashboard.builder());
    assertThat(rawStatus("127.0.0.1:" + dashboard.port())).isEqualTo(200);
    assertThat(rawStatus("localhost")).isEqualTo(200);
    assertThat(rawStatus("[::1]:8090")).isEqualTo(200);
    assertThat(rawStatus("attacker.example:" + dashboard.port()))
        .as("a rebound DNS name")
        .isEqualTo(403);
    assertThat(rawStatus("127.0.0.1.attacker.example")).isEqualTo(403);
    assertThat(DashboardHandler.loopbackHost(null)).isFalse();
  }

  /** The status of a GET / sent with this Host header (the HttpClient will not set one). */
  private int rawStatus(String host) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", dashboard.port())) {
      socket.setSoTimeout(10_000);
      socket
          .getOutputStream()
          .write(
              ("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      String status =
          new java.io.BufferedReader(
                  new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
              .readLine();
      return Integer.parseInt(status.split(" ")[1]);
    }
  }

  @Test
  void aDeadLetterKeptAtABranchSinksStepIsEditedThroughTheCodecOfWhatThatSinkIsGiven()
      throws Exception {
    List<Fixture.Word> given = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (Pipeline<Fixture.Word, Fixture.Word> words = Fixture.words(given)) {
      DeadLetter dead = words.deadLetters().find(DeadLetterQuery.all()).items().get(0);
      assertThat(dead.stage()).as("came back from the retry queue").isEqualTo("by-kind/words/sink");
      Http http = start(Dashboard.builder().pipeline(words));

      String page = http.get("/record?pipeline=words&id=in-1").body();

      assertThat(page).contains("<textarea name=\"payload\"", ">word:wx</textarea>");
      String form =
          "pipeline=words&id=in-1&payload=" + enc("word:wy") + "&csrf=" + enc(Http.csrf(page));
      assertThat(http.post("/dead-letters/edit", form).statusCode()).isEqualTo(303);
      words.resume();
      assertThat(given).as("sent back to that sink, edited").endsWith(new Fixture.Word("wy"));
      assertThat(words.store().find("words", "in-1").orElseThrow().status())
          .isEqualTo(RecordStatus.PUBLISHED);
    }
  }
}
