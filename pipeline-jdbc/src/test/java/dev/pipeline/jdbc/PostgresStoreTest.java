package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.pipeline.store.RecordStatus;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.TemplateEngine;
import org.junit.jupiter.api.Test;

/** The store contract on the real PostgreSQL. */
class PostgresStoreTest extends StoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("contract");
  }

  /**
   * The claim (due retries first), the due-retry scan, reprocess, discard and the purge run on
   * indexes, planned on 80,000 analyzed records of two pipelines, most of them finished.
   */
  @Test
  void theClaimAndDeadLetterStatementsUseIndexes() {
    open("w1"); // creates the schema
    Statements sql = new Statements(Dialect.POSTGRESQL, new Names(db().schema, ""), false);
    Map<String, Object> values =
        Map.ofEntries(
            Map.entry("owner", "w1"),
            Map.entry("token", 42L),
            Map.entry("lease_ms", 30_000L),
            Map.entry("pipeline", pipeline),
            Map.entry("max", 64),
            Map.entry("ids", List.of("r1000", "r1001")),
            Map.entry("held", new Long[] {42L, 43L}),
            Map.entry("at", Instant.parse("2026-01-01T00:00:00Z")),
            Map.entry("reason", "no"),
            Map.entry("age_ms", 1_000L),
            Map.entry("batch", 100),
            Map.entry("id", "r1000"),
            Map.entry("payload", new byte[] {1, 2}),
            Map.entry("format", "string"),
            Map.entry("checksum", 7L));
    Jdbi jdbi = Jdbi.create(db().url);
    jdbi.setTemplateEngine(TemplateEngine.NOP);
    try (Handle h = jdbi.open()) {
      String status = db().table("pipeline_records");
      // the schema is shared by the class's tests: plan on these rows alone, not on what the
      // tests before left (rows of other pipelines, live leases), which moved the estimates
      h.execute("DELETE FROM " + db().table("retry_queue"));
      h.execute("DELETE FROM " + status);
      h.execute(
          "INSERT INTO "
              + status
              + " (pipeline, record_id, current_stage, status, started_at, updated_at,"
              + " completed_at, payload) SELECT p, 'r' || i, 'cleaning', s, now(), now(),"
              + " CASE WHEN s IN ('PUBLISHED', 'FILTERED', 'DISCARDED') THEN now() END,"
              + " decode(repeat('ab', 200), 'hex') FROM (SELECT i, COALESCE((ARRAY['READY',"
              + " 'IN_PROGRESS', 'RETRY_WAIT', 'DEAD_LETTER', 'DISCARDED', 'FILTERED'])[1 + i % 50],"
              + " 'PUBLISHED') s FROM generate_series(1, 40000) i) r,"
              + " (VALUES ('"
              + pipeline
              + "'), ('other')) v(p)");
      h.execute(
          "INSERT INTO "
              + db().table("retry_queue")
              + " (pipeline, record_id, stage_name, retry_count, max_retries, next_retry_at,"
              + " backoff_multiplier) SELECT pipeline, record_id, 'cleaning', 1, 3,"
              + " now() + interval '1 hour', 2 FROM "
              + status
              + " WHERE status = 'RETRY_WAIT' AND pipeline IN ('"
              + pipeline
              + "', 'other')");
      // merge groups, one per four records: retention looks a merged record's group up by key
      String groups = db().table("pipeline_merge_groups");
      h.execute("DELETE FROM " + db().table("pipeline_merge_parts"));
      h.execute("DELETE FROM " + groups);
      h.execute(
          "INSERT INTO "
              + groups
              + " (pipeline, parent_id, group_size, arrived, created_at, completed_at)"
              + " SELECT '"
              + pipeline
              + "', 'g' || i, 4, 4, now(), now() FROM generate_series(1, 10000) i");
      h.execute("ANALYZE " + status);
      h.execute("ANALYZE " + db().table("retry_queue"));
      h.execute("ANALYZE " + groups);
      List<String> failures = new ArrayList<>();
      for (Map.Entry<String, String> statement :
          Map.of(
                  "claim", sql.claim,
                  "claimDue", sql.claimDue,
                  "reprocess", sql.reprocess,
                  "editedDeadLetter", sql.editedDeadLetter,
                  "replacePayload", sql.replacePayload,
                  "discard", sql.discard,
                  "purgeCompletedKeys", sql.purgeCompletedKeys,
                  "purgePayloads", sql.purgePayloads)
              .entrySet()) {
        String text = statement.getValue();
        Query explain = h.createQuery("EXPLAIN " + text);
        for (Map.Entry<String, Object> v : values.entrySet()) {
          if (text.contains(":" + v.getKey())) {
            Object value = v.getValue();
            if (value instanceof List<?> ids) {
              explain.bind(v.getKey(), Args.texts(ids.stream().map(String::valueOf).toList()));
            } else if (value instanceof Long[] tokens) {
              explain.bind(v.getKey(), Args.array("bigint", tokens));
            } else if (value instanceof Instant at) {
              explain.bind(v.getKey(), OffsetDateTime.ofInstant(at, ZoneOffset.UTC));
            } else {
              explain.bind(v.getKey(), value);
            }
          }
        }
        String plan = String.join("\n", explain.mapTo(String.class).list());
        if (plan.contains("Seq Scan")) {
          failures.add(statement.getKey() + ":\n" + plan);
        }
      }
      assertThat(failures).as("plans with a sequential scan").isEmpty();
    }
  }

  /**
   * The statements that look records up by a batch of ids probe the key for each id on tables never
   * analyzed (the id rows' table is not analyzed by the store; any table is not, early in its
   * life): joined, they were planned there as a read of every id row or every in-flight row of the
   * pipeline, per call or even per id (22 ms for 1,000 ids among 40,000 id rows with the store's
   * custom plans, growing with the table; 10 s as a generic plan). Checked both ways: generic plans
   * on empty tables, and the store's custom plans on tables filled but never analyzed.
   */
  @Test
  void idLookupsProbeTheKeyOnTablesNeverAnalyzed() throws Exception {
    open("w1").close(); // creates the schema
    String fresh = "plans_" + Long.toString(System.nanoTime(), 36);
    Names names = new Names(fresh, "");
    Statements rows = new Statements(Dialect.POSTGRESQL, names, false);
    BatchStatements batches = new BatchStatements(Dialect.POSTGRESQL, names, false);
    Map<String, String> statements =
        Map.ofEntries(
            Map.entry("unfinished", rows.unfinishedOf + " UNION ALL " + batches.unfinishedOf),
            Map.entry("stored", rows.stored),
            Map.entry("ingestMine", rows.ingestMine),
            Map.entry("lookupLeases", rows.lookupLeases),
            Map.entry("errorsOf", rows.errorsOf),
            Map.entry("errorsOverflowing", rows.errorsOverflowing),
            Map.entry("storedIds", batches.storedIds),
            Map.entry("membersOf", batches.membersOf),
            Map.entry("purgedRecords", batches.purgedRecords),
            Map.entry("holders", batches.holders),
            Map.entry("endedHere", batches.endedHere),
            Map.entry("claimTake", rows.claimTake),
            Map.entry("reprocess", rows.reprocess),
            Map.entry("discard", rows.discard),
            Map.entry("keptGroups", batches.keptGroups));
    try (Connection c = DriverManager.getConnection(db().url);
        java.sql.Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + fresh);
      try {
        for (String table :
            List.of(
                "pipeline_records",
                "pipeline_batch_records",
                "pipeline_batches",
                "pipeline_errors",
                "pipeline_merge_groups")) {
          // autovacuum left out, so that no analyze comes between the inserts and the plans
          s.execute(
              "CREATE TABLE "
                  + fresh
                  + "."
                  + table
                  + " (LIKE "
                  + db().table(table)
                  + " INCLUDING ALL) WITH (autovacuum_enabled = false)");
        }
        s.execute("SET plan_cache_mode = force_generic_plan");
        List<String> failures = plansReadingThePipeline(s, statements, "generic, empty tables");
        fill(s, names, "'" + pipeline + "'");
        s.execute("DEALLOCATE ALL");
        s.execute("SET plan_cache_mode = force_custom_plan"); // as the custom plans of auto
        failures.addAll(plansReadingThePipeline(s, statements, "custom, tables never analyzed"));
        assertThat(failures).as("plans that read every row of the pipeline").isEmpty();
      } finally {
        s.execute("DROP SCHEMA " + fresh + " CASCADE");
      }
    }
  }

  /**
   * The store's own pool leaves PostgreSQL's default (auto: generic plans reused where they cost no
   * more), and {@code Database.planned} plans with values for its own transaction only.
   */
  @Test
  void poolsReuseGenericPlansAndPlannedWorkPlansWithValues() {
    try (HikariDataSource pool =
        Connections.pool(JdbcUrl.check(db().url, Set.of()), null, null, 1, "plans")) {
      Database database = new Database(Jdbi.create(pool), Dialect.POSTGRESQL, Duration.ZERO);
      HandleCallback<String, java.sql.SQLException> mode =
          h -> h.createQuery("SELECT current_setting('plan_cache_mode')").mapTo(String.class).one();
      assertThat(database.call("mode", null, mode)).isEqualTo("auto");
      assertThat(database.planned("mode", null, mode)).isEqualTo("force_custom_plan");
      // the same connection (a pool of one) after the transaction
      assertThat(database.call("mode", null, mode)).isEqualTo("auto");
    }
  }

  /**
   * A statement the store has planned with its values outside a transaction (the lease renewals) is
   * sent unnamed every time, so the server never keeps a plan of it; the same statement left alone
   * is prepared on the server by its fifth run, and its plan kept.
   */
  @Test
  void aStatementPlannedWithItsValuesIsNeverPreparedOnTheServer() throws Exception {
    String planned = "SELECT 1 + ? AS planned_with_values";
    String kept = "SELECT 2 + ? AS prepared_and_kept";
    try (Connection c = DriverManager.getConnection(db().url)) {
      for (int run = 0; run < 10; run++) {
        try (PreparedStatement p = c.prepareStatement(planned);
            PreparedStatement k = c.prepareStatement(kept)) {
          Dialect.POSTGRESQL.planWithValues(p);
          p.setInt(1, run);
          k.setInt(1, run);
          p.executeQuery().close();
          k.executeQuery().close();
        }
      }
      List<String> onServer = new ArrayList<>();
      try (java.sql.Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT statement FROM pg_prepared_statements")) {
        while (rs.next()) {
          onServer.add(rs.getString(1));
        }
      }
      assertThat(onServer).anyMatch(t -> t.contains("prepared_and_kept"));
      assertThat(onServer).noneMatch(t -> t.contains("planned_with_values"));
    }
  }

  /**
   * The store's connections let PostgreSQL reuse a generic plan (plan_cache_mode auto), which it
   * does once a generic plan costs no more than the custom plans so far: a plan made early, on
   * small tables, is then kept while they grow. So every statement of the batch ledger, and those
   * of the record rows that a batch-ledger run uses, keeps its plan on a key, or on a partial index
   * of the records or batches in flight, as a generic plan made on empty tables and as one made on
   * tables filled but never analyzed. Retention's time cut-offs and the audit trail are planned
   * with their values instead ({@code Database.planned}), and are not here.
   */
  @Test
  void genericPlansProbeKeysOnEmptyAndNeverAnalyzedTables() throws Exception {
    String fresh = "generic_" + Long.toString(System.nanoTime(), 36);
    Names names = new Names(fresh, "");
    Statements rows = new Statements(Dialect.POSTGRESQL, names, false);
    BatchStatements batches = new BatchStatements(Dialect.POSTGRESQL, names, false);
    Map<String, String> statements = new TreeMap<>();
    // whatever is not a statement (table names, an expression) or not PostgreSQL's; two inserts
    // whose parameters only the driver's binds type (PREPARE cannot), each reading by key in a
    // scalar subquery per row, which no plan turns into a join; the two lease renewals planned
    // with their values; and the one statement that sums every batch of the pipeline by design
    // (counts, for gauges)
    Set<String> notHere =
        Set.of(
            "batches",
            "members",
            "events",
            "rows",
            "expiry",
            "keepSpanEnd",
            "insertMembersPg",
            "finalRow",
            // sent unnamed, so planned with their values each time (Dialect.planWithValues): the
            // rows they lock are probed by key, but the update of those rows by id looked cheaper
            // as a scan of a young table
            "renewHeld",
            "heartbeatRenew");
    for (Field f : BatchStatements.class.getDeclaredFields()) {
      if (f.getType() == String.class
          && !Modifier.isStatic(f.getModifiers())
          && !notHere.contains(f.getName())
          && !f.getName().equals("counts")) {
        statements.put("batches." + f.getName(), (String) f.get(batches));
      }
    }
    // not the rows' claim: planned on young tables it joins the records it takes by the pipeline
    // in either plan mode (theClaimAndDeadLetterStatementsUseIndexes: on keys once analyzed)
    for (String name :
        List.of(
            "claimDue",
            "claimTake",
            "stored",
            "ingestMine",
            "lookupLeases",
            "errorsOf",
            "errorsOverflowing",
            "reprocess",
            "discard",
            "editedDeadLetter",
            "replacePayload",
            "insertError")) {
      statements.put("rows." + name, (String) Statements.class.getDeclaredField(name).get(rows));
    }
    // the counts of records in flight (gauges, the dashboard): each on the partial index of its
    // status, which a parameter in place of the status could not match
    for (RecordStatus status :
        List.of(RecordStatus.READY, RecordStatus.IN_PROGRESS, RecordStatus.RETRY_WAIT)) {
      statements.put("rows.countUpTo." + status, rows.countUpTo(status));
    }
    try (Connection c = DriverManager.getConnection(db().url);
        java.sql.Statement s = c.createStatement()) {
      // the schema as the store's migrations make it
      JdbcPipelineStore.builder()
          .jdbcUrl(db().url, null, null)
          .schema(fresh)
          .workerId("w1")
          .build()
          .close();
      try {
        try (ResultSet rs =
            s.executeQuery("SELECT tablename FROM pg_tables WHERE schemaname = '" + fresh + "'")) {
          List<String> tables = new ArrayList<>();
          while (rs.next()) {
            tables.add(rs.getString(1));
          }
          for (String table : tables) {
            // autovacuum left out, so that no analyze comes between the inserts and the plans
            s.execute("ALTER TABLE " + fresh + "." + table + " SET (autovacuum_enabled = false)");
          }
        }
        // the partial indexes of the records and batches in flight, read by pipeline by design
        Set<String> inFlight = new HashSet<>();
        try (ResultSet rs =
            s.executeQuery(
                "SELECT indexname FROM pg_indexes WHERE schemaname = '"
                    + fresh
                    + "' AND (indexdef LIKE '%WHERE%''OPEN''%'"
                    + " OR indexdef LIKE '%WHERE%''READY''%')")) {
          while (rs.next()) {
            inFlight.add(rs.getString(1));
          }
        }
        assertThat(inFlight).hasSize(2);
        s.execute("SET plan_cache_mode = force_generic_plan");
        List<String> failures =
            genericPlansReadingThePipeline(s, statements, inFlight, "empty tables");
        fill(s, names, "'" + pipeline + "'");
        s.execute(
            "INSERT INTO "
                + names.batchEvents()
                + " (batch_id, event_token, kind, seqs, occurred_at, worker_id) SELECT 1 + i / 20,"
                + " i, 'D', ARRAY[i % 1000], now(), 'w2' FROM generate_series(1, 40000) i");
        s.execute("DEALLOCATE ALL");
        failures.addAll(
            genericPlansReadingThePipeline(s, statements, inFlight, "tables never analyzed"));
        assertThat(failures).as("generic plans that read every row of the pipeline").isEmpty();
      } finally {
        s.execute("DROP SCHEMA " + fresh + " CASCADE");
      }
    }
  }

  /**
   * The statements whose generic plan (arguments null: a generic plan does not look at them) scans
   * a table, or reads an index by the pipeline alone other than a partial index of what is in
   * flight, each with its plan.
   */
  private static List<String> genericPlansReadingThePipeline(
      java.sql.Statement s, Map<String, String> statements, Set<String> inFlightIndexes, String how)
      throws Exception {
    List<String> failures = new ArrayList<>();
    int n = 0;
    for (Map.Entry<String, String> statement : statements.entrySet()) {
      List<String> order = new ArrayList<>();
      String text = positional(statement.getValue(), order);
      String name = "g" + n++;
      s.execute("PREPARE " + name + " AS " + text);
      List<String> plan = new ArrayList<>();
      try (ResultSet rs =
          s.executeQuery(
              "EXPLAIN EXECUTE "
                  + name
                  + (order.isEmpty()
                      ? ""
                      : "("
                          + String.join(", ", Collections.nCopies(order.size(), "NULL"))
                          + ")"))) {
        while (rs.next()) {
          plan.add(rs.getString(1));
        }
      }
      boolean inFlight = false;
      for (String line : plan) {
        if (line.contains(" using ") || line.contains("Bitmap Index Scan on ")) {
          inFlight =
              inFlightIndexes.stream()
                  .anyMatch(
                      i -> line.contains(" using " + i + " ") || line.contains(" on " + i + " "));
        }
        boolean byPipeline =
            line.contains("Cond: ((pipeline)::text = ") || line.contains("Cond: (pipeline = ");
        if (line.contains("Seq Scan") || byPipeline && !line.contains("record_id") && !inFlight) {
          failures.add(statement.getKey() + " (" + how + "):\n" + String.join("\n", plan));
          break;
        }
      }
    }
    return failures;
  }

  /**
   * 40 open batches of 1,000 id rows, 40,000 records in flight and 40,000 merge groups of pipeline
   * {@code p} (quoted), never analyzed.
   */
  private static void fill(java.sql.Statement s, Names names, String p) throws Exception {
    s.execute(
        "INSERT INTO "
            + names.batches()
            + " (batch_id, pipeline, stage, state, size, lease_owner, lease_token,"
            + " lease_expires_at, worker_id, created_at, updated_at) SELECT i, "
            + p
            + ", 'cleaning', 'OPEN', 1000, 'w2', i, now(), 'w2', now(), now()"
            + " FROM generate_series(1, 40) i");
    s.execute(
        "INSERT INTO "
            + names.batchRecords()
            + " (pipeline, record_id, batch_id, seq) SELECT "
            + p
            + ", 'r' || i, 1 + i / 1000, i % 1000 FROM generate_series(1, 40000) i");
    s.execute(
        "INSERT INTO "
            + names.status()
            + " (pipeline, record_id, current_stage, status, started_at, updated_at,"
            + " lease_owner, lease_token, lease_expires_at) SELECT "
            + p
            + ", 'x' || i, 'cleaning', 'IN_PROGRESS', now(), now(), 'w2', 1, now()"
            + " FROM generate_series(1, 40000) i");
    s.execute(
        "INSERT INTO "
            + names.mergeGroups()
            + " (pipeline, parent_id, group_size, arrived, created_at) SELECT "
            + p
            + ", 'g' || i, 2, 1, now() FROM generate_series(1, 40000) i");
  }

  /**
   * The statement with its parameters as PREPARE's numbered ones: named ones ({@code :name}) or
   * plain JDBC ones ({@code ?}, named {@code ?1}, {@code ?2}... here). Their names go to {@code
   * order}, each once, in the order of their numbers.
   */
  private static String positional(String statement, List<String> order) {
    Matcher m = Pattern.compile("(?<!:):([a-z_]+)|\\?").matcher(statement);
    StringBuilder text = new StringBuilder();
    while (m.find()) {
      String name = m.group(1) != null ? m.group(1) : "?" + (order.size() + 1);
      if (!order.contains(name)) {
        order.add(name);
      }
      m.appendReplacement(text, "\\$" + (order.indexOf(name) + 1));
    }
    return m.appendTail(text).toString();
  }

  /**
   * The statements whose plan, prepared on this connection with 1,000 ids, scans a table or reads
   * its index by the pipeline alone, each with its plan.
   */
  private List<String> plansReadingThePipeline(
      java.sql.Statement s, Map<String, String> statements, String how) throws Exception {
    StringBuilder ids = new StringBuilder("'{");
    for (int i = 0; i < 1_000; i++) {
      ids.append(i == 0 ? "" : ",").append('r').append(i * 37);
    }
    Map<String, String> values =
        Map.of(
            "ids", ids.append("}'").toString(),
            "pipeline", "'" + pipeline + "'",
            "owner", "'w1'",
            "token", "7",
            "batch", "5",
            "lease_ms", "30000",
            "at", "now()",
            "reason", "'discarded'");
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, String> statement : statements.entrySet()) {
      List<String> order = new ArrayList<>();
      String text = positional(statement.getValue(), order);
      s.execute("PREPARE q_" + statement.getKey() + " AS " + text);
      List<String> arguments = new ArrayList<>();
      for (String name : order) {
        arguments.add(values.get(name));
      }
      List<String> plan = new ArrayList<>();
      try (ResultSet rs =
          s.executeQuery(
              "EXPLAIN EXECUTE q_"
                  + statement.getKey()
                  + "("
                  + String.join(", ", arguments)
                  + ")")) {
        while (rs.next()) {
          plan.add(rs.getString(1));
        }
      }
      for (String line : plan) {
        boolean byPipeline =
            line.contains("Cond: ((pipeline)::text = ") || line.contains("Cond: (pipeline = ");
        if (line.contains("Seq Scan") || byPipeline && !line.contains("record_id")) {
          failures.add(statement.getKey() + " (" + how + "):\n" + String.join("\n", plan));
          break;
        }
      }
    }
    return failures;
  }

  /**
   * A status table that grew past what its statistics say is analyzed by the store, so that the
   * batched record-id lookups are planned on the primary key: never analyzed, PostgreSQL planned
   * them as a scan of every row of the pipeline.
   */
  @Test
  void theStoreAnalyzesTheStatusTableAsItGrows() {
    JdbcPipelineStore store = openFull("w1");
    long before = analyzeCount(); // the schema is shared by the class's tests
    store.ingest(pipeline, records(0, 5 * (int) Statistics.MIN_CHANGES), "ingestion", T0);
    TestDatabase.await(
        Duration.ofMinutes(1), "an ANALYZE of the status table", () -> analyzeCount() > before);
    Statements sql = new Statements(Dialect.POSTGRESQL, new Names(db().schema, ""), false);
    Jdbi jdbi = Jdbi.create(db().url);
    jdbi.setTemplateEngine(TemplateEngine.NOP);
    try (Handle h = jdbi.open()) {
      h.execute("SET plan_cache_mode = force_custom_plan");
      String plan =
          String.join(
              "\n",
              h.createQuery("EXPLAIN " + sql.beginDelivery)
                  .bind("delivery", 7L)
                  .bind("pipeline", pipeline)
                  .bind("owner", "w1")
                  .bind("lease_ms", 30_000L)
                  .bind("ids", Args.texts(List.of("r1000", "r1001")))
                  .bind("tokens", Args.array("bigint", new Long[] {1L, 2L}))
                  .mapTo(String.class)
                  .list());
      assertThat(plan)
          .contains("pipeline_status_pk")
          .doesNotContain("Seq Scan", "Bitmap Heap Scan");
    }
  }

  /** Turned off, the store leaves the statistics to autovacuum or the DBA. */
  @Test
  void aStoreToldNotToMaintainStatisticsNeverAnalyzes() throws Exception {
    JdbcPipelineStore store = open(db().builder().workerId("w1").maintainStatistics(false));
    long before = analyzeCount();
    store.ingest(pipeline, records(0, 3 * (int) Statistics.MIN_CHANGES), "ingestion", T0);
    store.close(); // joins its threads: an analyze would have run by now
    assertThat(analyzeCount()).isEqualTo(before);
  }

  /**
   * A database user who does not own the table gets a warning from ANALYZE, not an error: the store
   * sees it and stops analyzing.
   */
  @Test
  void aUserWhoMayNotAnalyzeTheTableMakesTheStoreStopTrying() {
    open("w1").close(); // the owner creates the schema
    String role = "pipeline_writer_" + Long.toHexString(System.nanoTime());
    try (Handle h = Jdbi.create(db().url).open()) {
      h.execute("CREATE ROLE " + role + " LOGIN");
      h.execute("GRANT USAGE ON SCHEMA " + db().schema + " TO " + role);
      h.execute(
          "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
              + db().schema
              + " TO "
              + role);
      h.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + db().schema + " TO " + role);
    }
    try {
      JdbcPipelineStore store =
          open(
              JdbcPipelineStore.builder()
                  .jdbcUrl(db().url.replaceAll("user=[^&]*", "user=" + role), role, null)
                  .schema(db().schema)
                  .migrateSchema(false)
                  .rowsFromIngest(true)
                  .workerId("w2"));
      assertThat(store.maintainsStatistics()).isTrue();
      store.ingest(pipeline, records(0, 2 * (int) Statistics.MIN_CHANGES), "ingestion", T0);
      TestDatabase.await(
          Duration.ofMinutes(1),
          "the store to give up analyzing",
          () -> !store.maintainsStatistics());
      store.close();
    } finally {
      try (Handle h = Jdbi.create(db().url).open()) {
        h.execute("DROP OWNED BY " + role);
        h.execute("DROP ROLE " + role);
      }
    }
  }

  private long analyzeCount() {
    try (Handle h = Jdbi.create(db().url).open()) {
      return h.createQuery(
              "SELECT analyze_count FROM pg_stat_user_tables WHERE schemaname = :schema AND relname"
                  + " = 'pipeline_records'")
          .bind("schema", db().schema)
          .mapTo(Long.class)
          .findOne()
          .orElse(0L);
    }
  }
}
