package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.pipeline.Pipeline;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.RecordStatus;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dashboard over the JDBC store on PostgreSQL: search, trace and reprocess through the store's
 * queries. Skipped without PostgreSQL unless PIPELINE_REQUIRE_POSTGRES=true.
 */
class DashboardPostgresTest {
  private String url;
  private String schema;
  private Pipeline<String, String> pipeline;
  private Dashboard dashboard;

  @BeforeEach
  void start() {
    url = System.getenv("PIPELINE_PG_URL");
    if (url == null || url.isBlank()) {
      url = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
    }
    DriverManager.setLoginTimeout(5);
    try (Connection c = DriverManager.getConnection(url)) {
      c.isValid(5);
    } catch (SQLException e) {
      if ("true".equalsIgnoreCase(System.getenv("PIPELINE_REQUIRE_POSTGRES"))) {
        fail("PostgreSQL is not reachable at " + url + " and PIPELINE_REQUIRE_POSTGRES=true", e);
      }
      Assumptions.abort("PostgreSQL is not reachable at " + url + ": skipped");
    }
    schema =
        "dash_"
            + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36)
                .toLowerCase(Locale.ROOT);
    pipeline =
        Fixture.pipeline(
            JdbcPipelineStore.builder().jdbcUrl(url, null, null).schema(schema).build());
    Fixture.run(pipeline, 40, 6);
    dashboard = Dashboard.builder().pipeline(pipeline).start();
  }

  @AfterEach
  void stop() throws SQLException {
    if (dashboard != null) {
      dashboard.close();
    }
    if (pipeline != null) {
      pipeline.close();
      pipeline.store().close();
    }
    if (schema != null) {
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      }
    }
  }

  @Test
  void searchesTracesAndReprocessesOnPostgres() throws Exception {
    Http http = new Http(dashboard.url());
    String overview = http.get("/").body();
    assertThat(overview).contains("orders", "validation");
    String page = http.get("/dead-letters?pipeline=orders&stage=validation&text=bad+item+4").body();
    assertThat(page).contains("order-45", "&lt;script&gt;").doesNotContain("order-44\"");
    assertThat(http.get("/record?pipeline=orders&id=order-45").body())
        .contains("dead_letter", "bad item 4");
    assertThat(http.get("/workers?pipeline=orders").statusCode()).isEqualTo(200);
    assertThat(http.get("/retries?pipeline=orders").statusCode()).isEqualTo(200);
    String csrf = Http.csrf(page);
    assertThat(
            http.post(
                    "/dead-letters/edit",
                    "pipeline=orders&id=order-46&payload=item+5+fixed&csrf="
                        + URLEncoder.encode(csrf, StandardCharsets.UTF_8))
                .statusCode())
        .isEqualTo(303);
    pipeline.resume();
    assertThat(pipeline.store().find("orders", "order-46").orElseThrow().status())
        .as("the edited payload, stored with the codec of its input, passed")
        .isEqualTo(RecordStatus.PUBLISHED);
    assertThat(
            http.post(
                    "/dead-letters/reprocess",
                    "pipeline=orders&scope=filter&stage=validation&csrf="
                        + URLEncoder.encode(csrf, StandardCharsets.UTF_8))
                .statusCode())
        .isEqualTo(303);
    assertThat(pipeline.store().find("orders", "order-45").orElseThrow().status())
        .isEqualTo(RecordStatus.READY);
    assertThat(http.get("/dead-letters?pipeline=orders").body())
        .contains("5 dead letters sent back", "0 shown");
  }
}
