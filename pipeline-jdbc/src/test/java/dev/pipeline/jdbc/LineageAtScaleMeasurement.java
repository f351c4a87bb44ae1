package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.LineageEvent;
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
 * Not a test: measures {@code lineage(recordId)} on a PostgreSQL store holding {@code
 * -Dlineage.scale.events} lineage events (default 10,000,000: 2,500,000 records of four events
 * each, of two pipelines, two events packed in each row as one append writes them, packing 2),
 * written straight into {@code record_traces} with generate_series. Runs only when {@code
 * -Dlineage.scale=true}; writes its figures and the query plan to target/lineage-scale.txt. The
 * schema is dropped afterwards.
 */
@EnabledIfSystemProperty(named = "lineage.scale", matches = "true")
class LineageAtScaleMeasurement {
  private static final int ROUNDS = 200;

  @Test
  void measureALookupOverAFullTable() throws Exception {
    String url =
        System.getenv()
            .getOrDefault("PIPELINE_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
    long events = Long.getLong("lineage.scale.events", 10_000_000L);
    String schema = "lineage_scale";
    StringBuilder report = new StringBuilder();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }
    JdbcPipelineStore store =
        JdbcPipelineStore.builder().jdbcUrl(url, null, null).schema(schema).build();
    try {
      String table = schema + ".record_traces";
      long start = System.nanoTime();
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        // loaded without the index, which is made after: as a table that grew by bulk appends
        s.execute("DROP INDEX " + schema + ".record_traces_record_ix");
        // packing 2 (LineageTrace): the sink's input hash is the cleaning's output, left out
        String hashes = "to_hex(m * 7919) || '|' || to_hex(m * 104729)";
        s.execute(
            "INSERT INTO "
                + table
                + " (trace_id, pipeline, record_id, source_id, parent_id, first_at, last_at,"
                + " event_count, packing, events) SELECT m, CASE WHEN m % 2 = 0 THEN 'orders' ELSE 'other' END,"
                + " 'rec-' || (m / 2), 'src', NULL, now(), now(), 2, 2, 'cleaning|P|0|0||' || "
                + hashes
                + " || E'\\nsink|P|0|3|||' || to_hex(m * 104729)"
                + " FROM generate_series(0::bigint, "
                + (events / 2 - 1)
                + ") m");
        s.execute(
            "CREATE INDEX record_traces_record_ix ON "
                + table
                + " (pipeline, record_id, trace_id)");
        s.execute("ANALYZE " + table);
        report.append(
            String.format(
                Locale.ROOT,
                "loaded %,d lineage events in %.0f s%n",
                events,
                (System.nanoTime() - start) / 1e9));
        try (ResultSet plan =
            s.executeQuery(
                "EXPLAIN ANALYZE SELECT * FROM "
                    + table
                    + " WHERE pipeline = 'orders' AND record_id = 'rec-1234567' ORDER BY"
                    + " trace_id")) {
          while (plan.next()) {
            report.append("  ").append(plan.getString(1)).append('\n');
          }
        }
      }
      long records = events / 4;
      List<Double> ms = new ArrayList<>();
      for (int i = 0; i < ROUNDS; i++) {
        String id = "rec-" + ((i * 7_919L) % records);
        long t = System.nanoTime();
        List<LineageEvent> found = store.lineage("orders", id);
        ms.add((System.nanoTime() - t) / 1e6);
        assertThat(found).as(id).hasSize(2); // the record's events of this pipeline
      }
      Collections.sort(ms);
      report.append(
          String.format(
              Locale.ROOT,
              "lineage(recordId), %d lookups of random records: median %.2f ms, p95 %.2f ms,"
                  + " max %.2f ms%n",
              ROUNDS,
              ms.get(ROUNDS / 2),
              ms.get(ROUNDS * 95 / 100),
              ms.get(ROUNDS - 1)));
      Files.writeString(Path.of("target", "lineage-scale.txt"), report);
      System.out.print(report);
      assertThat(ms.get(ROUNDS * 95 / 100)).as("p95 in ms").isLessThan(50);
    } finally {
      store.close();
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      }
    }
  }
}
