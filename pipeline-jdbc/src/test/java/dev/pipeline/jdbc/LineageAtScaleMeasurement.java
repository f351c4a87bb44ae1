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
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: measures {@code lineage(recordId)} on a PostgreSQL store holding {@code
 * -Dlineage.scale.events} lineage events (default 10,000,000: 2,500,000 records of four events
 * each, of two pipelines, two events packed in each row as one append writes them, packing 2),
 * written straight into {@code record_traces} with generate_series; and the same number of events
 * in batches' rows (schema version 17, see the second case). Runs only when {@code
 * -Dlineage.scale=true}; writes its figures (and the first case's query plan) to
 * target/lineage-scale.txt and target/lineage-scale-batches.txt. The schemas are dropped
 * afterwards.
 */
@EnabledIfSystemProperty(named = "lineage.scale", matches = "true")
class LineageAtScaleMeasurement {
  private static final int ROUNDS = 200;

  @Test
  void measureALookupOverAFullTable() throws Exception {
    long events = events();
    measure(
        "lineage_scale",
        (s, schema, report) -> {
          String table = schema + ".record_traces";
          // loaded without the index, which is made after: as a table that grew by bulk appends
          s.execute("DROP INDEX " + schema + ".record_traces_record_ix");
          // packing 2 (LineageTrace): the sink's input hash is the cleaning's output, left out
          String hashes = "to_hex(m * 7919) || '|' || to_hex(m * 104729)";
          s.execute(
              "INSERT INTO "
                  + table
                  + " (trace_id, pipeline, record_id, source_id, parent_id, first_at, last_at,"
                  + " event_count, packing, events) SELECT m, CASE WHEN m % 2 = 0 THEN 'orders'"
                  + " ELSE 'other' END, 'rec-' || (m / 2), 'src', NULL, now(), now(), 2, 2,"
                  + " 'cleaning|P|0|0||' || "
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
          report.append(String.format(Locale.ROOT, "loaded %,d lineage events", events));
          return s.executeQuery(
              "EXPLAIN ANALYZE SELECT * FROM "
                  + table
                  + " WHERE pipeline = 'orders' AND record_id = 'rec-1234567' ORDER BY"
                  + " trace_id");
        },
        events / 4,
        2,
        "lineage-scale.txt");
  }

  private static long events() {
    return Long.getLong("lineage.scale.events", 10_000_000L);
  }

  /** Loads a fresh schema's tables by SQL, then gives a plan to report (or null). */
  @FunctionalInterface
  private interface Load {
    @Nullable ResultSet into(Statement s, String schema, StringBuilder report) throws Exception;
  }

  /**
   * Makes a store's schema, loads it, looks up {@value #ROUNDS} of its {@code records} records
   * ({@link #lookUp}) and drops it.
   */
  private static void measure(String schema, Load load, long records, int expected, String file)
      throws Exception {
    String url =
        System.getenv()
            .getOrDefault("PIPELINE_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
    StringBuilder report = new StringBuilder();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }
    JdbcPipelineStore store =
        JdbcPipelineStore.builder().jdbcUrl(url, null, null).schema(schema).build();
    try {
      long start = System.nanoTime();
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        ResultSet plan = load.into(s, schema, report);
        report.append(
            String.format(Locale.ROOT, " in %.0f s%n", (System.nanoTime() - start) / 1e9));
        if (plan != null) {
          try (plan) {
            while (plan.next()) {
              report.append("  ").append(plan.getString(1)).append('\n');
            }
          }
        }
      }
      lookUp(store, records, expected, report, file);
    } finally {
      store.close();
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      }
    }
  }

  /**
   * Looks up {@value #ROUNDS} records of {@code records} ({@code rec-0} on) of pipeline "orders",
   * each of which must have {@code expected} events, and reports the times.
   */
  private static void lookUp(
      JdbcPipelineStore store, long records, int expected, StringBuilder report, String file)
      throws java.io.IOException {
    List<Double> ms = new ArrayList<>();
    for (int i = 0; i < ROUNDS; i++) {
      String id = "rec-" + ((i * 7_919L) % records);
      long t = System.nanoTime();
      List<LineageEvent> found = store.lineage("orders", id);
      ms.add((System.nanoTime() - t) / 1e6);
      assertThat(found).as(id).hasSize(expected);
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
    Files.writeString(Path.of("target", file), report);
    System.out.print(report);
    assertThat(ms.get(ROUNDS * 95 / 100)).as("p95 in ms").isLessThan(50);
  }

  /**
   * As {@link #measureALookupOverAFullTable}, with the events in batches' rows (schema version 17,
   * packing 3): {@code -Dlineage.scale.events} events (default 10,000,000) of records of four
   * events each, 256 records a batch, each record's id row in {@code pipeline_batch_records} as the
   * batch ledger writes it. A lookup reads the id row, then the batch's row (about 60 kB of
   * events), and unpacks only the record's lines. Writes target/lineage-scale-batches.txt.
   */
  @Test
  void measureALookupThroughABatchsRowOverAFullTable() throws Exception {
    long records = events() / 4 / 256 * 256;
    measure(
        "lineage_scale_batches",
        (s, schema, report) -> {
          String table = schema + ".record_traces";
          String ids = schema + ".pipeline_batch_records";
          // loaded without the indexes, which are made after, as for the rows of their own
          s.execute("DROP INDEX " + schema + ".record_traces_batch_ix");
          s.execute("ALTER TABLE " + ids + " DROP CONSTRAINT pipeline_batch_records_pk");
          s.execute(
              "INSERT INTO "
                  + ids
                  + " (pipeline, record_id, batch_id, seq) SELECT 'orders', 'rec-' || r, r / 256,"
                  + " r % 256 FROM generate_series(0::bigint, "
                  + (records - 1)
                  + ") r");
          // packing 3: each record's line, then its four events (packing 2, the first with its
          // input hash)
          s.execute(
              "INSERT INTO "
                  + table
                  + " (trace_id, pipeline, record_id, source_id, parent_id, first_at, last_at,"
                  + " event_count, packing, batch_id, events) SELECT b, 'orders', NULL, NULL,"
                  + " NULL, now(), now(), 1024, 3, b, (SELECT string_agg('=rec-' || r || '|src|'"
                  + " || E'\\ncleaning|P|0|0||' || to_hex(r * 7919) || '|' || to_hex(r * 104729)"
                  + " || E'\\nsink|P|0|3|||' || to_hex(r * 104729) || E'\\nindexing|P|3|4|||' ||"
                  + " to_hex(r + 1) || E'\\npublishing|P|4|5|||' || to_hex(r + 2), E'\\n'"
                  + " ORDER BY r) FROM generate_series(b * 256, b * 256 + 255) r)"
                  + " FROM generate_series(0::bigint, "
                  + (records / 256 - 1)
                  + ") b");
          s.execute(
              "ALTER TABLE "
                  + ids
                  + " ADD CONSTRAINT pipeline_batch_records_pk PRIMARY KEY (pipeline, record_id)");
          s.execute(
              "CREATE INDEX record_traces_batch_ix ON "
                  + table
                  + " (batch_id) WHERE batch_id IS NOT NULL");
          s.execute("ANALYZE " + table);
          s.execute("ANALYZE " + ids);
          report.append(
              String.format(
                  Locale.ROOT,
                  "loaded %,d lineage events in %,d batches' rows",
                  records * 4,
                  records / 256));
          return null;
        },
        records,
        4,
        "lineage-scale-batches.txt");
  }
}
