package dev.pipeline.jdbc;

import dev.pipeline.internal.ErrorText;
import java.sql.BatchUpdateException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the store's operations on the database, retrying transient failures.
 *
 * <p>A lost connection, a restarting server, a deadlock or a serialization failure is retried with
 * exponential backoff and jitter (50 ms doubling to 5 s) for up to the outage tolerance: the
 * calling thread blocks, so the pipeline pauses and then resumes where it was, nothing lost. Each
 * operation is written to be safe to run again after a failure whose outcome is unknown (a commit
 * whose reply was lost). Any other error ends the operation with a {@link JdbcStoreException}
 * naming it.
 *
 * <p>Thread-safe.
 */
final class Database {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);
  private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(30);
  private static final String CLOSED_ADVICE =
      "; the database is closed (shut down, or closed by the database itself after a fatal error"
          + " such as a failed or interrupted write to its file), so every later operation of this"
          + " store fails too: find the cause in the database's log (for H2, the .trace.db file"
          + " next to it), then build a new store; records in flight stay in the database and"
          + " resume on the next run";

  // one per H2 database (by URL) in this JVM
  private static final Map<String, ReentrantLock> H2_TURNS = new ConcurrentHashMap<>();

  final Jdbi jdbi;
  final Dialect dialect;
  private final Duration outageTolerance;
  private final @Nullable Lock turns;
  private final Map<String, LongAdder> retries = new ConcurrentHashMap<>();

  Database(Jdbi jdbi, Dialect dialect, Duration outageTolerance) {
    this(jdbi, dialect, outageTolerance, null);
  }

  /**
   * @param turns held around each attempt of each operation, if not null (see {@link #turnsFor})
   */
  Database(Jdbi jdbi, Dialect dialect, Duration outageTolerance, @Nullable Lock turns) {
    this.jdbi = jdbi;
    this.dialect = dialect;
    this.outageTolerance = outageTolerance;
    this.turns = turns;
  }

  /**
   * The lock the stores of this JVM take turns on to use a database, or null if they need none.
   *
   * <p>H2 writes every change into one MVStore, whose maps are updated by compare-and-set: writers
   * in several threads at once copy and retry B-tree pages and commit into one another's store
   * operations. Measured with the example pipeline on an H2 file (200k lines, the durable run of
   * {@code Targets durable}): 48.1 s with operations taking turns, 58.2 s with operations in
   * parallel, and on fewer cores. The heartbeat keeps its own connection and takes a turn for each
   * short chunk of leases it renews, so that the record path never waits on the row locks of a
   * heartbeat in progress. It waits for each turn as long as it takes (an unbounded {@code
   * lockInterruptibly()}; the lock is not fair, so a busy record path can keep it waiting, each of
   * its operations holding the turn for one attempt), and once the chunks of one beat have waited
   * half a lease in all it keeps the turn for the rest of that beat, the record path waiting, so
   * that the leases are renewed before they run out. Not a bounded {@code tryLock}: renewing
   * without the turn would bring back the record path's waits on the heartbeat's row locks, and
   * skipping the beat would let a busy worker's leases expire under it. PostgreSQL needs none.
   */
  static @Nullable Lock turnsFor(Dialect dialect, @Nullable String databaseUrl) {
    return dialect == Dialect.H2 && databaseUrl != null
        ? H2_TURNS.computeIfAbsent(databaseUrl, k -> new ReentrantLock())
        : null;
  }

  /**
   * Runs work on a connection in auto-commit mode, or in one transaction where the dialect {@link
   * Dialect#needsExplicitTransactions() needs it} so that a failure is rolled back.
   */
  <T> T call(String operation, @Nullable String pipeline, HandleCallback<T, SQLException> work) {
    return run(operation, pipeline, dialect.needsExplicitTransactions(), false, work);
  }

  /** Runs work in one transaction. */
  <T> T transaction(
      String operation, @Nullable String pipeline, HandleCallback<T, SQLException> work) {
    return run(operation, pipeline, true, false, work);
  }

  /**
   * Runs work in one transaction whose statements are each planned with their values (see {@link
   * Dialect#planWithValues}): for statements whose plan depends on a value, such as a time cut-off
   * over a large table, which a generic plan would guess.
   */
  <T> T planned(String operation, @Nullable String pipeline, HandleCallback<T, SQLException> work) {
    String custom = dialect.planWithValues();
    return custom == null
        ? transaction(operation, pipeline, work)
        : transaction(
            operation,
            pipeline,
            h -> {
              h.execute(custom);
              return work.withHandle(h);
            });
  }

  /**
   * Runs work as {@link #call} does, also retrying unique-key violations: for inserts that race
   * another worker's insert of the same key, which the next attempt sees and skips.
   */
  <T> T callRetryingConflicts(
      String operation, @Nullable String pipeline, HandleCallback<T, SQLException> work) {
    return run(operation, pipeline, dialect.needsExplicitTransactions(), true, work);
  }

  /** Runs work, in one transaction or in auto-commit mode, optionally retrying key conflicts. */
  <T> T run(
      String operation,
      @Nullable String pipeline,
      boolean transaction,
      boolean retryConflicts,
      HandleCallback<T, SQLException> work) {
    long start = System.nanoTime();
    long lastLog = 0;
    long firstFailure = 0;
    int failures = 0;
    while (true) {
      SQLException sql;
      RuntimeException failure;
      try {
        T result;
        if (turns == null) {
          result = attempt(transaction, work);
        } else {
          try {
            turns.lockInterruptibly(); // held for this attempt only, not while backing off
          } catch (InterruptedException e) {
            throw interrupted(operation, pipeline, "waiting for its turn to run", e);
          }
          try {
            result = attempt(transaction, work);
          } finally {
            turns.unlock();
          }
        }
        if (failures > 0) {
          recovered(firstFailure);
          LOG.info(
              "pipeline-jdbc: {} on pipeline '{}' succeeded again after {} transient failures"
                  + " over {} ms; the pipeline resumes",
              operation,
              pipeline,
              failures,
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        }
        return result;
      } catch (JdbiException e) {
        failure = e;
        sql = sqlCause(e);
      } catch (SQLException e) {
        failure = null;
        sql = e;
      }
      boolean retry =
          sql != null
              && (dialect.isTransient(sql) || (retryConflicts && Dialect.isUniqueViolation(sql)));
      Throwable cause = failure != null ? failure : sql;
      String state = sql == null ? null : sql.getSQLState();
      if (!retry) {
        throw new JdbcStoreException(
            operation,
            pipeline,
            state,
            "pipeline-jdbc: "
                + operation
                + (pipeline == null ? "" : " on pipeline '" + pipeline + "'")
                + " failed"
                + (state == null ? "" : " (SQLState " + state + ")")
                + ": "
                + (sql != null ? describe(sql) : ErrorText.describeDefault(cause))
                + (sql != null && dialect.isClosed(sql) ? CLOSED_ADVICE : ""),
            cause);
      }
      retries.computeIfAbsent(String.valueOf(state), k -> new LongAdder()).increment();
      long elapsed = System.nanoTime() - start;
      if (elapsed > outageTolerance.toNanos()) {
        throw new JdbcStoreException(
            operation,
            pipeline,
            state,
            "pipeline-jdbc: "
                + operation
                + (pipeline == null ? "" : " on pipeline '" + pipeline + "'")
                + " kept failing with transient errors for "
                + TimeUnit.NANOSECONDS.toSeconds(elapsed)
                + " s (outage tolerance "
                + outageTolerance
                + "), last: "
                + describe(sql)
                + "; records in flight stay in the database and resume on the next run",
            cause);
      }
      failures++;
      if (failures == 1) {
        firstFailure = System.nanoTime();
      }
      if (failures == 1 || System.nanoTime() - lastLog > LOG_EVERY_NANOS) {
        lastLog = System.nanoTime();
        LOG.warn(
            "pipeline-jdbc: {} on pipeline '{}' failed with a transient error (SQLState {}: {});"
                + " retrying for up to {} (attempt {}, {} ms so far); the pipeline pauses meanwhile",
            operation,
            pipeline,
            state,
            describe(sql),
            outageTolerance,
            failures,
            TimeUnit.NANOSECONDS.toMillis(elapsed));
      }
      backoff(operation, pipeline, failures);
    }
  }

  /** Runs work once, without retries, on a thread of its own as {@link #attempt} does. */
  <T> T once(HandleCallback<T, SQLException> work) throws SQLException {
    return attempt(false, work);
  }

  /**
   * Runs one attempt of work on a thread of its own and waits for it, so that an interrupt of the
   * caller (a cancelled run, a timed-out task) never reaches a thread inside the driver: H2 closes
   * its database when a write to its file is interrupted ({@code ClosedByInterruptException}), and
   * pgjdbc loses its connection when a socket read is. An interrupt meanwhile is kept for the
   * caller to see once the attempt is over.
   */
  private <T> T attempt(boolean transaction, HandleCallback<T, SQLException> work)
      throws SQLException {
    FutureTask<T> task =
        new FutureTask<>(() -> transaction ? jdbi.inTransaction(work) : jdbi.withHandle(work));
    Thread.ofVirtual().start(task);
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return task.get();
        } catch (InterruptedException e) {
          interrupted = true; // the attempt goes on; the caller sees the interrupt after it
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof SQLException sql) {
            throw sql;
          }
          if (cause instanceof RuntimeException runtime) {
            throw runtime;
          }
          if (cause instanceof Error error) {
            throw error;
          }
          throw new IllegalStateException(cause);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Waits for this database's turn (see {@link #turnsFor}) for work outside {@link #run}, if it has
   * turns; give it back with {@link #endTurn}.
   */
  void takeTurn() throws InterruptedException {
    if (turns != null) {
      turns.lockInterruptibly();
    }
  }

  /** Gives back a turn {@link #takeTurn} took. */
  void endTurn() {
    if (turns != null) {
      turns.unlock();
    }
  }

  /** How many attempts failed with a transient error of this SQLState and were retried. */
  long retries(String sqlState) {
    LongAdder count = retries.get(sqlState);
    return count == null ? 0 : count.sum();
  }

  /**
   * The longest outage an operation recovered from: how long it kept failing (nanos) and when it
   * succeeded again ({@link System#nanoTime()}); null if none yet. For messages that say why this
   * worker's leases ran out.
   */
  record Outage(long nanos, long endedAt) {}

  private final AtomicReference<@Nullable Outage> lastOutage = new AtomicReference<>();

  private void recovered(long firstFailure) {
    long now = System.nanoTime();
    Outage outage = new Outage(now - firstFailure, now);
    // of operations recovering together, keep the one that waited longest
    lastOutage.getAndUpdate(
        o -> o == null || now - o.endedAt() > o.nanos() || outage.nanos() > o.nanos() ? outage : o);
  }

  /** The last outage operations recovered from, if any. */
  @Nullable Outage lastOutage() {
    return lastOutage.get();
  }

  private static void backoff(String operation, @Nullable String pipeline, int failures) {
    long cap = Math.min(5_000, 50L << Math.min(failures - 1, 10));
    long millis = cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
    try {
      TimeUnit.MILLISECONDS.sleep(millis);
    } catch (InterruptedException e) {
      throw interrupted(operation, pipeline, "waiting to retry", e);
    }
  }

  /** Keeps the interrupt and says what was interrupted. */
  private static JdbcStoreException interrupted(
      String operation, @Nullable String pipeline, String waiting, InterruptedException e) {
    Thread.currentThread().interrupt();
    return new JdbcStoreException(
        operation,
        pipeline,
        null,
        "pipeline-jdbc: interrupted while " + waiting + " " + operation,
        e);
  }

  /**
   * An error's message for a log line: the server's own error rather than a batch entry (whose text
   * carries the bound values, payloads included), cut short.
   */
  static String describe(SQLException e) {
    SQLException shown = e;
    if (e instanceof BatchUpdateException && e.getNextException() != null) {
      shown = e.getNextException();
    }
    String message = ErrorText.defaults().message(shown);
    if (message.startsWith("Batch entry")) {
      message = "a statement of a JDBC batch failed";
    }
    return ErrorText.escape(ErrorText.cut(message, 300));
  }

  /** The SQL exception behind a Jdbi exception, if any. */
  static @Nullable SQLException sqlCause(Throwable e) {
    int depth = 0;
    // bounded: a cycle of causes longer than one must not loop for ever
    for (Throwable t = e; t != null && depth++ < ErrorText.MAX_THROWABLES; t = t.getCause()) {
      if (t instanceof SQLException sql) {
        return sql;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }
}
