package dev.pipeline.jdbc;

import dev.pipeline.SafeText;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the PostgreSQL planner's statistics of the status table in step with its growth.
 *
 * <p>The store's statements look records up by id in batches. PostgreSQL plans them from the
 * table's statistics; a table that has never been analyzed, or was analyzed when it held a
 * thousandth of its rows, is estimated to have few rows per pipeline, and the lookups of a batch
 * are then planned as one scan of every row of the pipeline: about 60 ms per batch of 128 at 100k
 * rows instead of 3 ms, and growing with the table. Autovacuum's analyze comes too late for a table
 * that grows by thousands of rows a second (it checks once a minute and waits for 10% of the table
 * to change), and some servers run without it.
 *
 * <p>So the store counts the rows it inserts and moves to a terminal state, and once they reach the
 * number of rows the table held at its last analyze (at least {@link #MIN_CHANGES}), it runs {@code
 * ANALYZE} on the status table from a background thread: a handful of analyzes as a table grows
 * from nothing to millions of rows, each sampling at most 30,000 rows by default. It never blocks a
 * caller. If the database refuses (the store's user does not own the table: PostgreSQL then skips
 * it with a warning, not an error), the store says so once and stops trying: then have autovacuum
 * or a scheduled job analyze it.
 *
 * <p>Thread-safe.
 */
final class Statistics {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  /** The changes before the first analyze, and the least between two. */
  static final long MIN_CHANGES = 1_000;

  private final AtomicLong changes = new AtomicLong();
  private final Semaphore due = new Semaphore(0);
  private volatile long threshold = MIN_CHANGES;
  private volatile boolean enabled;

  /**
   * @param enabled whether to analyze at all (PostgreSQL, and not turned off in the builder)
   */
  Statistics(boolean enabled) {
    this.enabled = enabled;
  }

  /** Whether the store still keeps the statistics: on, and not refused by the database. */
  boolean maintaining() {
    return enabled;
  }

  /** Counts rows inserted or moved to another state; wakes the analyzer when enough have. */
  void changed(long rows) {
    if (!enabled || rows <= 0) {
      return;
    }
    long before = changes.getAndAdd(rows);
    long limit = threshold;
    if (before < limit && before + rows >= limit) {
      due.release();
    }
  }

  /**
   * The analyzer's loop: waits until enough rows changed, then analyzes. Returns when interrupted
   * (the store is closing) or when the database refuses.
   */
  void run(Database db, String table) {
    while (enabled) {
      try {
        due.acquire();
      } catch (InterruptedException e) {
        return;
      }
      changes.set(0);
      @Nullable Long rows = analyze(db, table);
      if (rows == null) {
        return;
      }
      threshold = Math.max(MIN_CHANGES, rows);
      if (changes.get() >= threshold) {
        due.release(); // the table grew past the new threshold while it was analyzed
      }
    }
  }

  /** Analyzes the table; returns its estimated row count, or null if the database refused. */
  private @Nullable Long analyze(Database db, String table) {
    try {
      return db.jdbi.<@Nullable Long, SQLException>inTransaction(
          h -> {
            long start = System.nanoTime();
            // waits behind another session's ANALYZE or VACUUM of the table end soon; the
            // next threshold crossing tries again
            h.execute("SET LOCAL lock_timeout = '2s'");
            h.execute("SET LOCAL statement_timeout = '5min'");
            try (Statement analyze = h.getConnection().createStatement()) {
              // the table name was validated as identifiers (see Names)
              analyze.execute("ANALYZE " + table);
              // a user who may not analyze the table gets a warning, not an error
              for (SQLWarning w = analyze.getWarnings(); w != null; w = w.getNextWarning()) {
                String message = String.valueOf(w.getMessage());
                if (message.contains("skipping")) {
                  refused(table, message);
                  return null;
                }
              }
            }
            // reltuples is the estimate the planner now uses
            Long rows =
                h.createQuery(
                        "SELECT CAST(reltuples AS BIGINT) FROM pg_class"
                            + " WHERE oid = CAST(:t AS regclass)")
                    .bind("t", table)
                    .mapTo(Long.class)
                    .findOne()
                    .orElse(MIN_CHANGES);
            LOG.debug(
                "pipeline-jdbc: analyzed {} ({} rows) in {} ms",
                table,
                rows,
                (System.nanoTime() - start) / 1_000_000);
            return rows;
          });
    } catch (RuntimeException | SQLException e) {
      SQLException cause = Database.sqlCause(e);
      if (cause != null && "42501".equals(cause.getSQLState())) {
        refused(table, cause.getMessage());
        return null;
      }
      // transient (the database is restarting, a lock wait timed out): the next threshold
      // crossing tries again
      LOG.debug(
          "pipeline-jdbc: ANALYZE {} failed; trying again later: {}", table, SafeText.describe(e));
      return threshold;
    }
  }

  private void refused(String table, @Nullable String why) {
    enabled = false;
    LOG.warn(
        "pipeline-jdbc: this database user may not ANALYZE {} ({}); the store no longer keeps"
            + " its planner statistics current. Make sure autovacuum or a scheduled job"
            + " analyzes it, or batches of record-id lookups may be planned as scans as it"
            + " grows",
        table,
        SafeText.loggable(why, 300));
  }
}
