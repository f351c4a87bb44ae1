package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.RecordStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: measures the dashboard's pages over a PostgreSQL store holding {@code
 * -Ddashboard.scale.records} records (default 10,000,000), a tenth of them dead letters, written
 * straight into the store's tables with generate_series. Runs only when {@code
 * -Ddashboard.scale=true}; writes its figures and query plans to target/dashboard-scale.txt. The
 * schema is dropped afterwards.
 */
@EnabledIfSystemProperty(named = "dashboard.scale", matches = "true")
class OverviewAtScaleMeasurement {
  private static final int ROUNDS = 30;

  @Test
  void measureThePagesOverAFullStore() throws Exception {
    String url =
        System.getenv()
            .getOrDefault("PIPELINE_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
    long records = Long.getLong("dashboard.scale.records", 10_000_000L);
    long dead = records / 10;
    long retrying = records / 1000;
    String schema = "dash_scale";
    StringBuilder report = new StringBuilder();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }
    Pipeline<String, String> pipeline =
        Fixture.pipeline(
            JdbcPipelineStore.builder().jdbcUrl(url, null, null).schema(schema).build());
    Dashboard dashboard = null;
    try {
      Fixture.run(pipeline, 40, 6);
      long start = System.nanoTime();
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        String p = schema + ".";
        s.execute(
            "INSERT INTO "
                + p
                + "pipeline_batches (batch_id, pipeline, stage, state, size, ended,"
                + " published, created_at, updated_at, completed_at, record_ids) SELECT 1000000 +"
                + " b, 'orders', 'validation', 'DONE', 1000, 1000, 900, now(), now(), now(),"
                // the ids of the batch's id rows below, in their order, as an ingest lists them
                + " CAST(ARRAY(SELECT 'syn-' || n FROM generate_series(b * 1000, b * 1000 + 999)"
                + " n ORDER BY n) AS VARCHAR(1000)[]) FROM generate_series(0, "
                + (records / 1000 - 1)
                + ") b");
        s.execute(
            "INSERT INTO "
                + p
                + "pipeline_batch_records (pipeline, record_id, batch_id, seq)"
                + " SELECT 'orders', 'syn-' || n, 1000000 + n / 1000, n % 1000 FROM"
                + " generate_series(0, "
                + (records - 1)
                + ") n");
        s.execute(
            "INSERT INTO "
                + p
                + "pipeline_records (pipeline, record_id, current_stage, status,"
                + " started_at, updated_at, attempt_count, last_error, error_type, failed_stage,"
                + " payload, payload_format, payload_checksum, dead_lettered_at) SELECT 'orders',"
                + " 'syn-' || (n * 10), 'validation', 'DEAD_LETTER', now(), now(), 1, 'bad <b>'"
                + " || n, CASE WHEN n % 3 = 0 THEN 'TimeoutException' ELSE"
                + " 'IllegalStateException' END, 'validation', r.payload, r.payload_format,"
                + " r.payload_checksum, now() - (n || ' milliseconds')::interval FROM"
                + " generate_series(0, "
                + (dead - 1)
                + ") n, (SELECT payload, payload_format,"
                + " payload_checksum FROM "
                + p
                + "pipeline_records WHERE status = 'DEAD_LETTER'"
                + " LIMIT 1) r");
        s.execute(
            "INSERT INTO "
                + p
                + "pipeline_errors (pipeline, record_id, stage_name, error_type,"
                + " exception_class, error_message, stack_trace, attempt, occurred_at) SELECT"
                + " 'orders', 'syn-' || (n * 10), 'validation', 'IllegalStateException',"
                + " 'java.lang.IllegalStateException', 'bad <b>' || n, '', 1, now() FROM"
                + " generate_series(0, "
                + (dead - 1)
                + ") n");
        s.execute(
            "INSERT INTO "
                + p
                + "pipeline_records (pipeline, record_id, current_stage, status,"
                + " started_at, updated_at, attempt_count, last_error, payload, payload_format,"
                + " payload_checksum) SELECT 'orders', 'syn-' || (n * 10 + 1), 'validation',"
                + " 'RETRY_WAIT', now(), now(), 1, 'later', r.payload, r.payload_format,"
                + " r.payload_checksum FROM generate_series(0, "
                + (retrying - 1)
                + ") n, (SELECT payload, payload_format, payload_checksum FROM "
                + p
                + "pipeline_records WHERE status = 'DEAD_LETTER' LIMIT 1) r");
        try (ResultSet listed =
            s.executeQuery(
                "SELECT COUNT(*) FROM "
                    + p
                    + "pipeline_batches WHERE batch_id >= 1000000 AND (record_ids IS NULL OR"
                    + " cardinality(record_ids) <> size)")) {
          listed.next();
          assertThat(listed.getLong(1)).as("batches that do not list their records' ids").isZero();
        }
        s.execute("ANALYZE " + p + "pipeline_batches");
        s.execute("ANALYZE " + p + "pipeline_batch_records");
        s.execute("ANALYZE " + p + "pipeline_records");
        s.execute("ANALYZE " + p + "pipeline_errors");
        report.append(
            String.format(
                Locale.ROOT,
                "loaded %,d records, %,d dead letters, %,d waiting to retry in %.0f s%n",
                records,
                dead,
                retrying,
                (System.nanoTime() - start) / 1e9));
      }
      dashboard = Dashboard.builder().pipeline(pipeline).start();
      Http http = new Http(dashboard.url());
      for (String page :
          List.of(
              "/",
              "/api/live/?pipeline=orders",
              "/dead-letters?pipeline=orders",
              "/dead-letters?pipeline=orders&stage=validation&type=TimeoutException",
              "/record?pipeline=orders&id=syn-5000000",
              "/workers?pipeline=orders",
              "/retries?pipeline=orders")) {
        assertThat(http.get(page).statusCode()).as(page).isEqualTo(200);
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
          long t = System.nanoTime();
          http.get(page);
          ms.add((System.nanoTime() - t) / 1e6);
        }
        Collections.sort(ms);
        report.append(
            String.format(
                Locale.ROOT,
                "%-72s median %6.1f ms  p95 %6.1f ms%n",
                page,
                ms.get(ROUNDS / 2),
                ms.get(ROUNDS * 95 / 100)));
      }
      // the retry queue page's count: all statuses grouped (what it read before) against a bounded
      // count of one status on its partial index (what it reads now), alternated in one run
      List<Double> grouped = new ArrayList<>();
      List<Double> bounded = new ArrayList<>();
      for (int i = 0; i < ROUNDS; i++) {
        long t = System.nanoTime();
        long all = pipeline.store().counts("orders").get(RecordStatus.RETRY_WAIT);
        grouped.add((System.nanoTime() - t) / 1e6);
        t = System.nanoTime();
        long one =
            pipeline.store().count("orders", RecordStatus.RETRY_WAIT, OperationsPages.MAX_COUNTED);
        bounded.add((System.nanoTime() - t) / 1e6);
        assertThat(one).isEqualTo(Math.min(all, OperationsPages.MAX_COUNTED));
      }
      Collections.sort(grouped);
      Collections.sort(bounded);
      report.append(
          String.format(
              Locale.ROOT,
              "%nRETRY_WAIT: counts() median %.1f ms, p95 %.1f ms; count(RETRY_WAIT, %,d) median"
                  + " %.1f ms, p95 %.1f ms; ratio of medians %.0fx%n",
              grouped.get(ROUNDS / 2),
              grouped.get(ROUNDS * 95 / 100),
              OperationsPages.MAX_COUNTED,
              bounded.get(ROUNDS / 2),
              bounded.get(ROUNDS * 95 / 100),
              grouped.get(ROUNDS / 2) / bounded.get(ROUNDS / 2)));
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        String p = schema + ".";
        for (String sql :
            List.of(
                "SELECT lease_owner, COUNT(*) FROM "
                    + p
                    + "pipeline_records WHERE pipeline ="
                    + " 'orders' AND status = 'IN_PROGRESS' AND lease_owner <> 'x' GROUP BY lease_owner",
                "SELECT lease_owner, SUM(size - ended) FROM "
                    + p
                    + "pipeline_batches WHERE"
                    + " pipeline = 'orders' AND state = 'OPEN' AND lease_owner <> 'x' GROUP BY"
                    + " lease_owner",
                "SELECT record_id FROM "
                    + p
                    + "pipeline_records WHERE pipeline = 'orders' AND"
                    + " status = 'DEAD_LETTER' ORDER BY dead_lettered_at, record_id LIMIT 51",
                "SELECT record_id FROM "
                    + p
                    + "pipeline_records WHERE pipeline = 'orders' AND"
                    + " status = 'DEAD_LETTER' AND failed_stage = 'validation' AND error_type ="
                    + " 'TimeoutException' ORDER BY dead_lettered_at, record_id LIMIT 51",
                "SELECT COUNT(*) FROM (SELECT 1 FROM "
                    + p
                    + "pipeline_records WHERE pipeline = 'orders' AND status = 'RETRY_WAIT' LIMIT "
                    + OperationsPages.MAX_COUNTED
                    + ") t",
                "SELECT status, COUNT(*) FROM "
                    + p
                    + "pipeline_records WHERE pipeline = 'orders' GROUP BY status")) {
          report.append("\nEXPLAIN ANALYZE ").append(sql).append('\n');
          try (ResultSet rs = s.executeQuery("EXPLAIN ANALYZE " + sql)) {
            while (rs.next()) {
              report.append("  ").append(rs.getString(1)).append('\n');
            }
          }
        }
      }
    } finally {
      if (dashboard != null) {
        dashboard.close();
      }
      pipeline.close();
      pipeline.store().close();
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      }
      Files.writeString(Path.of("target", "dashboard-scale.txt"), report.toString());
    }
  }
}
