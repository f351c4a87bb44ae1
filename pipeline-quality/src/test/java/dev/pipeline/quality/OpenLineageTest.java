package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OpenLineageTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HttpServer server;
  private final BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> authorization = new LinkedBlockingQueue<>();
  private volatile int status = 201;

  @BeforeEach
  void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/api/v1/lineage",
        exchange -> {
          try (InputStream body = exchange.getRequestBody()) {
            received.add(JSON.readTree(new String(body.readAllBytes(), StandardCharsets.UTF_8)));
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            authorization.add(auth == null ? "" : auth);
          }
          exchange.sendResponseHeaders(status, -1);
          exchange.close();
        });
    server.start();
  }

  @AfterEach
  void stopServer() {
    server.stop(0);
  }

  private URI url() {
    return URI.create(
        "http://127.0.0.1:" + server.getAddress().getPort() + "/api/v1/lineage?token=secret");
  }

  private JsonNode next() throws InterruptedException {
    JsonNode event = received.poll(30, TimeUnit.SECONDS);
    assertThat(event).as("an event reached the server").isNotNull();
    return event;
  }

  private static Pipeline<Listing, Listing> gated(QualityGate<Listing> gate) {
    return Pipeline.builder("listings", Listing.class)
        .stage(StageName.of("quality"), gate, gate.options())
        .sink(batch -> {})
        .build();
  }

  @Test
  void aRunSendsStartThenCompleteWithTheRulesVerdictsAndTheOutputsRowCount() throws Exception {
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class)
            .rule(Rule.range("price", "price.amount", "[0, 1000000]"))
            .rule(Rule.length("title", "title", "[5, )").action(Action.TAG))
            .build();
    try (OpenLineage lineage =
            OpenLineage.to(url())
                .namespace("equipment")
                .input("file", "/data/listings.jsonl")
                .output("postgresql://db:5432", "shop.public.listings")
                .gate(gate)
                .apiKey("key-123")
                .build();
        Pipeline<Listing, Listing> pipeline = gated(gate)) {
      RunResult result =
          lineage.run(
              pipeline,
              Source.of(
                  "listings",
                  List.of(
                          Listing.good("a"),
                          Listing.good("b").withPrice(new Listing.Price(5e6, "EUR")),
                          Listing.good("c"))
                      .iterator()));
      assertThat(result.published()).isEqualTo(2);

      JsonNode start = next();
      JsonNode end = next();
      for (JsonNode e : List.of(start, end)) {
        assertThat(e.path("schemaURL").asText())
            .isEqualTo("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent");
        assertThat(e.path("producer").asText()).isEqualTo(OpenLineage.PRODUCER);
        assertThat(e.path("job").path("namespace").asText()).isEqualTo("equipment");
        assertThat(e.path("job").path("name").asText()).isEqualTo("listings");
        assertThat(e.path("inputs").get(0).path("namespace").asText()).isEqualTo("file");
        assertThat(e.path("inputs").get(0).path("name").asText()).isEqualTo("/data/listings.jsonl");
        assertThat(e.path("outputs").get(0).path("name").asText())
            .isEqualTo("shop.public.listings");
        assertThat(java.time.Instant.parse(e.path("eventTime").asText())).isNotNull();
      }
      assertThat(start.path("eventType").asText()).isEqualTo("START");
      assertThat(end.path("eventType").asText()).isEqualTo("COMPLETE");
      UUID runId = UUID.fromString(start.path("run").path("runId").asText());
      assertThat(runId.version()).isEqualTo(7);
      assertThat(end.path("run").path("runId").asText()).isEqualTo(runId.toString());

      JsonNode assertions =
          end.path("inputs").get(0).path("inputFacets").path("dataQualityAssertions");
      assertThat(assertions.path("_schemaURL").asText())
          .isEqualTo(OpenLineageEvents.ASSERTIONS_URL);
      assertThat(assertions.path("_producer").asText()).isEqualTo(OpenLineage.PRODUCER);
      assertThat(assertions.path("assertions")).hasSize(2);
      assertThat(assertions.path("assertions").get(0).path("assertion").asText())
          .isEqualTo("price");
      assertThat(assertions.path("assertions").get(0).path("success").asBoolean()).isFalse();
      assertThat(assertions.path("assertions").get(0).path("column").asText())
          .isEqualTo("price.amount");
      assertThat(assertions.path("assertions").get(1).path("success").asBoolean()).isTrue();
      assertThat(
              end.path("outputs")
                  .get(0)
                  .path("outputFacets")
                  .path("outputStatistics")
                  .path("rowCount")
                  .asLong())
          .isEqualTo(2);
      assertThat(authorization.take()).isEqualTo("Bearer key-123");
    }
  }

  @Test
  void eachRunHasItsOwnIdAndVerdictsOfItsOwnRecords() throws Exception {
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class)
            .rule(Rule.range("price", "price.amount", "[0, 1000000]"))
            .build();
    try (OpenLineage lineage = OpenLineage.to(url()).input("mem", "listings").gate(gate).build();
        Pipeline<Listing, Listing> pipeline = gated(gate)) {
      lineage.run(
          pipeline,
          Source.of(
              "first",
              List.of(Listing.good("x").withPrice(new Listing.Price(5e6, "EUR"))).iterator()));
      lineage.run(pipeline, Source.of("second", List.of(Listing.good("y")).iterator()));
      List<JsonNode> events = List.of(next(), next(), next(), next());
      assertThat(events.get(0).path("run").path("runId"))
          .isEqualTo(events.get(1).path("run").path("runId"))
          .isNotEqualTo(events.get(2).path("run").path("runId"));
      assertThat(successOfFirstAssertion(events.get(1))).isFalse();
      assertThat(successOfFirstAssertion(events.get(3)))
          .as("the second run's verdict counts its own records only")
          .isTrue();
      assertThat(events.get(0).path("job").path("namespace").asText()).isEqualTo("dev.pipeline");
    }
  }

  private static boolean successOfFirstAssertion(JsonNode end) {
    JsonNode facet = end.path("inputs").get(0).path("inputFacets").path("dataQualityAssertions");
    assertThat(facet.path("assertions")).as("the rules' verdicts").hasSize(1);
    return facet.path("assertions").get(0).path("success").asBoolean();
  }

  @Test
  void aFailedRunSendsFailNamingTheFailuresTypeOnly() throws Exception {
    try (OpenLineage lineage = OpenLineage.to(url()).input("mem", "bad").build();
        Pipeline<String, String> pipeline =
            Pipeline.builder("failing", String.class)
                .stage(StageName.VALIDATION, (String s) -> s)
                .sink(batch -> {})
                .build()) {
      RunResult result =
          lineage.run(
              pipeline,
              Source.of(
                  "broken",
                  new java.util.Iterator<String>() {
                    @Override
                    public boolean hasNext() {
                      return true;
                    }

                    @Override
                    public String next() {
                      throw new IllegalStateException("password=hunter2");
                    }
                  }));
      assertThat(result.status().name()).isEqualTo("FAILED");
      assertThat(next().path("eventType").asText()).isEqualTo("START");
      JsonNode fail = next();
      assertThat(fail.path("eventType").asText()).isEqualTo("FAIL");
      JsonNode error = fail.path("run").path("facets").path("errorMessage");
      assertThat(error.path("programmingLanguage").asText()).isEqualTo("JAVA");
      assertThat(error.path("_schemaURL").asText()).isEqualTo(OpenLineageEvents.ERROR_URL);
      assertThat(error.path("message").asText()).contains("failing").doesNotContain("hunter2");
      assertThat(fail.path("inputs").get(0).has("inputFacets")).isFalse();
    }
  }

  @Test
  void undeliveredEventsAreCountedAndTheRunGoesOn() throws Exception {
    status = 500;
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    OpenLineage refused =
        OpenLineage.to(URI.create("http://127.0.0.1:" + closedPort + "/api/v1/lineage"))
            .timeout(Duration.ofSeconds(5))
            .build();
    OpenLineage erring = OpenLineage.to(url()).build();
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("plain", String.class)
            .stage(StageName.VALIDATION, (String s) -> s)
            .sink(batch -> {})
            .build()) {
      assertThat(refused.run(pipeline, Source.of("s", List.of("a").iterator())).published())
          .isEqualTo(1);
      assertThat(erring.run(pipeline, Source.of("t", List.of("b").iterator())).published())
          .isEqualTo(1);
    }
    refused.close();
    erring.close();
    assertThat(refused.failed()).isEqualTo(2);
    assertThat(refused.sent()).isZero();
    assertThat(erring.failed()).isEqualTo(2);
    assertThat(received).hasSize(2);
  }

  @Test
  void onlyAnHttpUrlWithAHostAndNoPasswordIsTaken() {
    assertThatThrownBy(() -> OpenLineage.to(URI.create("file:///tmp/events")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("http or https");
    assertThatThrownBy(() -> OpenLineage.to(URI.create("/api/v1/lineage")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> OpenLineage.to(URI.create("http://user:pw@host/api")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("apiKey")
        .hasMessageNotContaining("pw");
    assertThatThrownBy(() -> OpenLineage.to(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> OpenLineage.to(url()).timeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> OpenLineage.to(url()).apiKey("a").apiKey("b"))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void anApiKeyAHeaderCannotCarryFailsAtTheBuilderWithoutQuotingTheKey() {
    // the HTTP client would throw from run(), quoting the whole header with the key in it
    for (String key :
        List.of("s3cret\nX-Injected: 1", "s3cret key", "s3cr\u00e9t", "s3cret\u0000")) {
      assertThatThrownBy(() -> OpenLineage.to(url()).apiKey(key))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("U+0021 to U+007E")
          .hasMessageNotContaining("s3c");
    }
    assertThatThrownBy(() -> OpenLineage.to(url()).apiKey("k".repeat(10_000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 4096 characters, was 10000");
  }

  @Test
  void namesAreBoundedAndWithoutControlCharactersAndATimeoutCloseCanWaitOut() {
    String huge = "n".repeat(10 << 20);
    assertThatThrownBy(() -> OpenLineage.to(url()).namespace(huge))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("namespace must be 1 to 4096 characters, was 10485760");
    assertThatThrownBy(() -> OpenLineage.to(url()).input("file", huge))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 4096 characters");
    assertThatThrownBy(() -> OpenLineage.to(url()).output("db\u0000", "t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("U+0000 at position 2");
    // each event carried a 10 MB producer; a lone surrogate went out as '?'
    assertThatThrownBy(
            () -> OpenLineage.to(url()).producer(java.net.URI.create("http://p/" + huge)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("producer must be 1 to 4096 characters, was 10485769");
    assertThatThrownBy(() -> OpenLineage.to(url()).namespace("ns\uD800"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("namespace holds the unpaired surrogate U+D800 at position 2; use valid text");
    // close() waits twice the timeout in milliseconds: a longer one overflowed and threw there
    assertThatThrownBy(() -> OpenLineage.to(url()).timeout(Duration.ofSeconds(Long.MAX_VALUE)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("between 1 ms and 10 minutes");
    assertThatThrownBy(() -> OpenLineage.to(url()).timeout(Duration.ofNanos(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void quotesBackslashesAndUnicodeInNamesLeaveTheEventValidJson() throws Exception {
    String name = "a\"b\\c'</script>\u2028\uD83D\uDE00";
    try (OpenLineage lineage =
            OpenLineage.to(url()).namespace(name).input(name, name).output(name, name).build();
        Pipeline<Listing, Listing> pipeline =
            gated(QualityGate.of(Listing.class).rule(Rule.notNull("title", "title")).build())) {
      lineage.run(pipeline, Source.of("listings", List.of(Listing.good("a")).iterator()));
      JsonNode start = next();
      assertThat(start.path("job").path("namespace").asText()).isEqualTo(name);
      assertThat(start.path("inputs").get(0).path("name").asText()).isEqualTo(name);
      assertThat(start.path("outputs").get(0).path("namespace").asText()).isEqualTo(name);
    }
  }
}
