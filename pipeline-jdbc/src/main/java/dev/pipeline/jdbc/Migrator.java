package dev.pipeline.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates and upgrades a store's schema from the versioned scripts in {@code
 * dev/pipeline/jdbc/migrations/<dialect>/}, recording each applied script in the schema version
 * table. Scripts already applied are never run again; one changed after it was applied stops the
 * store (as Flyway does), since the database no longer matches what the library expects.
 */
final class Migrator {
  private static final Logger LOG = LoggerFactory.getLogger(Migrator.class);

  /** One versioned script. */
  record Migration(int version, String description, String script) {
    /** The migration as errors name it: {@code migration V17 (V17__....sql) of <schema>.*}. */
    String named(Names names) {
      return "migration V" + version + " (" + script + ") of " + names;
    }
  }

  /** Every migration, oldest first. A new version adds a script here and in both folders. */
  static final List<Migration> MIGRATIONS =
      List.of(
          new Migration(1, "create tables", "V1__create_tables.sql"),
          new Migration(2, "discarded status", "V2__discarded_status.sql"),
          new Migration(3, "batch ledger", "V3__batch_ledger.sql"),
          new Migration(4, "source positions", "V4__source_positions.sql"),
          new Migration(5, "split records", "V5__split_records.sql"),
          new Migration(6, "rule versions", "V6__rule_versions.sql"),
          new Migration(
              7, "audit trail and metrics history", "V7__audit_trail_and_metrics_history.sql"),
          new Migration(8, "record lineage", "V8__record_lineage.sql"),
          new Migration(9, "merge groups", "V9__merge_groups.sql"),
          new Migration(
              10, "quality baselines and scores", "V10__quality_baselines_and_scores.sql"),
          new Migration(11, "batch source spans", "V11__batch_source_spans.sql"),
          new Migration(12, "record traces", "V12__record_traces.sql"),
          new Migration(13, "batch record ids", "V13__batch_record_ids.sql"),
          new Migration(14, "lineage packing", "V14__lineage_packing.sql"),
          new Migration(15, "identity caches", "V15__identity_caches.sql"),
          new Migration(16, "lineage without key", "V16__lineage_without_key.sql"),
          new Migration(17, "lineage per batch", "V17__lineage_per_batch.sql"));

  /** H2 serves one JVM: migrations of one JVM take turns. */
  private static final ReentrantLock H2_LOCK = new ReentrantLock();

  private Migrator() {}

  static int latest() {
    return MIGRATIONS.get(MIGRATIONS.size() - 1).version();
  }

  /**
   * Brings the schema to the latest version, or (when {@code apply} is false) checks that it is.
   *
   * @throws JdbcStoreException if the schema cannot be brought up, is newer than this library, or a
   *     script was changed after it was applied
   */
  static void migrate(Handle handle, Dialect dialect, Names names, String workerId, boolean apply) {
    migrate(handle, dialect, names, workerId, apply, latest());
  }

  /**
   * As {@link #migrate(Handle, Dialect, Names, String, boolean)}, applying the scripts up to {@code
   * upTo} only: tests build a schema as an older library left it, to upgrade it.
   */
  static void migrate(
      Handle handle, Dialect dialect, Names names, String workerId, boolean apply, int upTo) {
    long key = Checksums.crc32c(("pipeline-jdbc:" + names).getBytes(StandardCharsets.UTF_8));
    lock(handle, dialect, key);
    try {
      if (apply && names.schema() != null) {
        handle.execute("CREATE SCHEMA IF NOT EXISTS " + names.schema());
      }
      Map<Integer, Long> applied = applied(handle, names);
      int current = applied.keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
      if (current > latest()) {
        throw new JdbcStoreException(
            "migrate",
            null,
            null,
            "the schema "
                + names
                + " is at version "
                + current
                + ", newer than this pipeline-jdbc knows ("
                + latest()
                + "); upgrade the library on every worker",
            null);
      }
      boolean recovered = false;
      for (Migration m : MIGRATIONS) {
        if (m.version() > upTo) {
          break;
        }
        String template = script(dialect, m);
        long checksum = Checksums.crc32c(template.getBytes(StandardCharsets.UTF_8));
        Long recorded = applied.get(m.version());
        if (recorded != null) {
          if (recorded != checksum) {
            throw new JdbcStoreException(
                "migrate",
                null,
                null,
                m.named(names)
                    + " was applied with checksum "
                    + recorded
                    + " but this library's script has checksum "
                    + checksum
                    + "; the schema was created by another version of the script. Compare it with"
                    + " dev/pipeline/jdbc/migrations/"
                    + dialect.folder()
                    + "/"
                    + m.script(),
                null);
          }
          continue;
        }
        if (!apply) {
          throw new JdbcStoreException(
              "migrate",
              null,
              null,
              "the schema "
                  + names
                  + " is at version "
                  + current
                  + " but this library needs version "
                  + latest()
                  + " and migrateSchema(false) was set; run dev/pipeline/jdbc/migrations/"
                  + dialect.folder()
                  + "/"
                  + m.script()
                  + " (see its header), or let the store migrate",
              null);
        }
        if (dialect == Dialect.H2) {
          if (!recovered) {
            recoverRebuiltTables(handle, names);
            recovered = true;
          }
          applyResumably(handle, names, workerId, m, template, checksum);
        } else {
          apply(handle, names, workerId, m, template, checksum);
        }
      }
    } finally {
      unlock(handle, dialect, key);
    }
  }

  private static void apply(
      Handle handle, Names names, String workerId, Migration m, String template, long checksum) {
    long start = System.nanoTime();
    List<String> statements = statements(names.fill(template));
    handle.useTransaction(
        h -> {
          run(h, names, m, statements);
          record(h, names, workerId, m, checksum, start);
        });
    migrated(names, m, start);
  }

  /**
   * Applies a script on H2, whose DDL commits at once, so that a crash part way through (a worker
   * killed as it first starts) does not leave a script that fails when run again: a statement that
   * renames or drops what it already renamed or dropped. Each statement, once run, is noted in the
   * progress table in a commit of its own, and a later start resumes after the last one noted. The
   * one statement after it may have run without its note (a crash between the two commits): if
   * running it again fails because what it makes is there already, it counts as done. That what it
   * renames, drops or alters is missing is not taken as its having run: a table a crash left as
   * H2's rebuilt copy is put back first ({@link #recoverRebuiltTables}).
   */
  static void applyResumably(
      Handle handle, Names names, String workerId, Migration m, String template, long checksum) {
    long start = System.nanoTime();
    List<String> statements = statements(names.fill(template));
    String progress = names.schemaProgress();
    handle.execute(
        "CREATE TABLE IF NOT EXISTS "
            + progress
            + " (version INT PRIMARY KEY, statements_done INT NOT NULL)");
    int done =
        handle
            .createQuery("SELECT statements_done FROM " + progress + " WHERE version = :version")
            .bind("version", m.version())
            .mapTo(Integer.class)
            .findOne()
            .orElse(0);
    if (done > 0) {
      LOG.warn(
          "pipeline-jdbc: {} was left part way by a crash; resuming after its statement {} of {}",
          m.named(names),
          done,
          statements.size());
    }
    try (Statement s = handle.getConnection().createStatement()) {
      s.setEscapeProcessing(false);
      for (int i = done; i < statements.size(); i++) {
        try {
          s.execute(statements.get(i));
        } catch (SQLException e) {
          if (i != done || !ranAlready(e)) {
            throw failed(names, m, "at its statement " + (i + 1) + " of " + statements.size(), e);
          }
          LOG.warn(
              "pipeline-jdbc: {}: its statement {} of {} ran before a crash, as running it again"
                  + " says (SQL state {}); it counts as done",
              m.named(names),
              i + 1,
              statements.size(),
              e.getSQLState());
        }
        handle.execute(
            "MERGE INTO " + progress + " (version, statements_done) KEY (version) VALUES (?, ?)",
            m.version(),
            i + 1);
      }
    } catch (SQLException e) { // making or closing the statement, not one of the script's
      throw failed(names, m, "outside its statements", e);
    }
    handle.useTransaction(
        h -> {
          record(h, names, workerId, m, checksum, start);
          h.execute("DELETE FROM " + progress + " WHERE version = ?", m.version());
        });
    migrated(names, m, start);
  }

  /**
   * Puts back, on H2, a table a crash left under the name of its rebuilt copy. H2 runs some {@code
   * ALTER TABLE}s (adding a column among them) by copying the table to {@code <name>_COPY_<n>_<m>},
   * dropping it and renaming the copy; a crash after the drop and before the rename leaves the
   * table only as its copy, whole and altered. Such a copy, whose table is missing, is renamed back
   * (and the statement that altered it, run again, finds its column there). A copy whose table is
   * there is H2's unfinished work from before the drop (the table is whole): it is dropped, since
   * H2 gives the next rebuild of the table the same name and would find it taken.
   */
  static void recoverRebuiltTables(Handle handle, Names names) {
    String wanted = names.schema() == null ? "PUBLIC" : names.schema().toUpperCase(Locale.ROOT);
    String prefix = names.prefix().toUpperCase(Locale.ROOT);
    // the names as stored: upper case unless the database keeps them as written
    List<Map.Entry<String, String>> found =
        handle
            .createQuery(
                "SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES"
                    + " WHERE UPPER(TABLE_SCHEMA) = :schema")
            .bind("schema", wanted)
            .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
            .list();
    List<String> tables = found.stream().map(Map.Entry::getValue).toList();
    for (Map.Entry<String, String> t : found) {
      String schema = t.getKey();
      String table = t.getValue();
      int copy = table.lastIndexOf("_COPY_");
      if (copy <= 0
          || !table.toUpperCase(Locale.ROOT).startsWith(prefix)
          || !table.substring(copy + "_COPY_".length()).matches("[0-9]+_[0-9]+")) {
        continue;
      }
      String original = table.substring(0, copy);
      if (!rebuildable(names, original)) {
        continue; // not a table the scripts alter: the application's own, left alone
      }
      boolean whole = tables.contains(original);
      LOG.warn(
          "pipeline-jdbc: the table {}.{} {} a crash during H2's rebuild of it; {} {}",
          schema,
          original,
          whole ? "is whole after" : "was left only as its rebuilt copy by",
          whole ? "dropping the unfinished copy" : "renaming back the copy",
          table);
      String sql =
          whole
              ? "DROP TABLE " + quoted(schema) + "." + quoted(table)
              : "ALTER TABLE "
                  + quoted(schema)
                  + "."
                  + quoted(table)
                  + " RENAME TO "
                  + quoted(original);
      try (Statement s = handle.getConnection().createStatement()) {
        s.execute(sql);
      } catch (SQLException e) {
        throw new JdbcStoreException(
            "migrate",
            null,
            e.getSQLState(),
            "the table "
                + original
                + " of "
                + names
                + " was left by a crash during H2's rebuild of it, and its copy "
                + table
                + " could not be "
                + (whole ? "dropped" : "renamed back")
                + ": "
                + Checks.causeText(e, MAX_CAUSE),
            e);
      }
    }
  }

  // the tables the H2 scripts alter (so H2 may rebuild), upper case, without their prefix
  private static final Set<String> ALTERED = altered();

  private static Set<String> altered() {
    Pattern alter = Pattern.compile("ALTER TABLE \\$\\{schema}\\.\\$\\{prefix}([a-z_0-9]+)");
    Set<String> tables = new HashSet<>();
    for (Migration m : MIGRATIONS) {
      Matcher found = alter.matcher(script(Dialect.H2, m));
      while (found.find()) {
        tables.add(found.group(1).toUpperCase(Locale.ROOT));
      }
    }
    return Set.copyOf(tables);
  }

  /** Whether {@code table} (as stored) is one of this store's that a script alters. */
  private static boolean rebuildable(Names names, String table) {
    String upper = table.toUpperCase(Locale.ROOT);
    String prefix = names.prefix().toUpperCase(Locale.ROOT);
    return upper.startsWith(prefix) && ALTERED.contains(upper.substring(prefix.length()));
  }

  /** An identifier read from the database, quoted as it is stored. */
  private static String quoted(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }

  /**
   * Whether H2 refused a statement as it refuses one that already ran: what it creates exists
   * (table or view 42101, index 42111, column 42121, constraint 90045).
   */
  private static boolean ranAlready(SQLException e) {
    return switch (e.getErrorCode()) {
      case 42101, 42111, 42121, 90045 -> true;
      default -> false;
    };
  }

  private static void record(
      Handle h, Names names, String workerId, Migration m, long checksum, long start) {
    h.createUpdate(
            "INSERT INTO "
                + names.schemaVersion()
                + " (version, description, script, checksum, installed_by, execution_ms)"
                + " VALUES (:version, :description, :script, :checksum, :by, :ms)")
        .bind("version", m.version())
        .bind("description", m.description())
        .bind("script", m.script())
        .bind("checksum", checksum)
        .bind("by", workerId)
        .bind("ms", (System.nanoTime() - start) / 1_000_000)
        .execute();
  }

  private static void migrated(Names names, Migration m, long start) {
    LOG.info(
        "pipeline-jdbc: migrated {} to version {} ({}) in {} ms",
        names,
        m.version(),
        m.description(),
        (System.nanoTime() - start) / 1_000_000);
  }

  /**
   * Runs a script's statements as they are written, through plain JDBC: Jdbi's SQL parser, which
   * its {@code Handle.execute} runs each statement through, reads {@code \'} in a quoted text as an
   * escaped quote (so a text ending in a backslash runs on past its closing quote), and outside
   * quotes takes {@code \\} for one backslash and {@code :name} and {@code ?} for parameters: a
   * statement holding them (a view that splits on backslashes, say) was changed without a word.
   * JDBC's escape syntax ({@code {fn ...}}) is off too.
   *
   * @throws JdbcStoreException naming the script and the statement, if one fails
   */
  static void run(Handle h, Names names, Migration m, List<String> statements) {
    try (Statement s = h.getConnection().createStatement()) {
      s.setEscapeProcessing(false);
      for (int i = 0; i < statements.size(); i++) {
        try {
          s.execute(statements.get(i));
        } catch (SQLException e) {
          throw failed(names, m, "at its statement " + (i + 1) + " of " + statements.size(), e);
        }
      }
    } catch (SQLException e) { // making or closing the statement, not one of the script's
      throw failed(names, m, "outside its statements", e);
    }
  }

  /** The characters of the driver's message a migration's error keeps at most. */
  private static final int MAX_CAUSE = 2_000;

  private static JdbcStoreException failed(Names names, Migration m, String where, SQLException e) {
    return new JdbcStoreException(
        "migrate",
        null,
        e.getSQLState(),
        m.named(names)
            + " failed "
            + where
            + " (SQL state "
            + e.getSQLState()
            + "): "
            + Checks.causeText(e, MAX_CAUSE)
            + "; its version is not recorded, so the next start runs the script again (on"
            + " PostgreSQL nothing of it stays and it runs from its start; on H2, whose DDL"
            + " commits at once, the statements before it stay and the next start resumes at"
            + " this one)",
        e);
  }

  private static Map<Integer, Long> applied(Handle handle, Names names) {
    Map<Integer, Long> applied = new HashMap<>();
    try {
      handle
          .createQuery("SELECT version, checksum FROM " + names.schemaVersion())
          .map((rs, ctx) -> Map.entry(rs.getInt(1), rs.getLong(2)))
          .forEach(e -> applied.put(e.getKey(), e.getValue()));
    } catch (JdbiException e) {
      if (!(e.getCause() instanceof SQLException sql) || !isMissingTable(sql)) {
        throw e;
      }
      // a fresh database; PostgreSQL needs the failed statement's transaction ended
      if (!handle.isInTransaction()) {
        return applied;
      }
      handle.rollback();
    }
    return applied;
  }

  private static boolean isMissingTable(SQLException e) {
    String state = e.getSQLState();
    // PostgreSQL 42P01 undefined table, 3F000 undefined schema; H2 42S02/42102/42104, 90079
    return (state != null && state.startsWith("42S0"))
        || "42P01".equals(state)
        || "3F000".equals(state)
        || "42S02".equals(state)
        || "42102".equals(state)
        || "42104".equals(state)
        || "90079".equals(state);
  }

  private static void lock(Handle handle, Dialect dialect, long key) {
    if (dialect == Dialect.POSTGRESQL) {
      // several JVMs may start at once: one migrates, the others wait and then find it done
      handle
          .createQuery("SELECT pg_advisory_lock(:key)")
          .bind("key", key)
          .map((rs, ctx) -> 1)
          .one();
    } else {
      H2_LOCK.lock();
    }
  }

  private static void unlock(Handle handle, Dialect dialect, long key) {
    if (dialect == Dialect.POSTGRESQL) {
      handle
          .createQuery("SELECT pg_advisory_unlock(:key)")
          .bind("key", key)
          .map((rs, ctx) -> 1)
          .one();
    } else {
      H2_LOCK.unlock();
    }
  }

  /** The text of a script, placeholders unfilled, line ends normalized. */
  static String script(Dialect dialect, Migration m) {
    String path = "migrations/" + dialect.folder() + "/" + m.script();
    try (InputStream in = Migrator.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException(
            "pipeline-jdbc is missing its migration script " + path + "; is the jar complete?");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("\r\n", "\n");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read migration script " + path, e);
    }
  }

  /** The statements of a script: comment lines dropped, split at the semicolons ending lines. */
  static List<String> statements(String script) {
    StringBuilder current = new StringBuilder();
    List<String> statements = new ArrayList<>();
    for (String line : script.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("--")) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        String statement = current.toString().strip();
        statements.add(statement.substring(0, statement.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      statements.add(current.toString().strip());
    }
    return statements;
  }
}
