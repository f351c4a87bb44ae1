package dev.pipeline.jdbc;

import dev.pipeline.internal.ErrorText;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The heartbeat of a {@link JdbcPipelineStore}: renews the leases of the records this worker holds
 * (and of its batches, with the batch ledger) on a connection of its own, so that other workers do
 * not take them over while this one works on them; and gives leases back when the worker lets go.
 */
final class Heartbeat {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  // leases the heartbeat renews per transaction: short enough that a write of the record path
  // never waits long on its rows
  private static final int RENEW_CHUNK = 500;

  private final Database db;
  private final Statements sql;
  private final String workerId;
  private final long leaseMillis;
  private final long abandonAfterNanos;
  private final Leases leases;
  private final @Nullable BatchLedger ledger;
  private final Connections.HeartbeatSource heartbeatSource;
  private final AtomicBoolean closed;
  // wakes the heartbeat to stop: it is never interrupted, as it may be inside the driver
  private final CountDownLatch closing = new CountDownLatch(1);
  private final LongAdder heartbeats = new LongAdder();

  Heartbeat(
      Database db,
      Statements sql,
      String workerId,
      long leaseMillis,
      long abandonAfterNanos,
      Leases leases,
      @Nullable BatchLedger ledger,
      Connections.HeartbeatSource heartbeatSource,
      AtomicBoolean closed) {
    this.db = db;
    this.sql = sql;
    this.workerId = workerId;
    this.leaseMillis = leaseMillis;
    this.abandonAfterNanos = abandonAfterNanos;
    this.leases = leases;
    this.ledger = ledger;
    this.heartbeatSource = heartbeatSource;
    this.closed = closed;
  }

  /** Wakes {@link #run()} to return; the store has been marked closed. */
  void stop() {
    closing.countDown();
  }

  /** How many times the heartbeat renewed leases. */
  long count() {
    return heartbeats.sum();
  }

  /** Renews this worker's leases every third of the lease duration until {@link #stop()}. */
  void run() {
    long period = TimeUnit.MILLISECONDS.toNanos(Math.max(10, leaseMillis / 3));
    long next = System.nanoTime() + period;
    while (!closed.get()) {
      try {
        // at a fixed rate: a slow renewal does not push the next one back
        long wait = next - System.nanoTime();
        if (wait > 0 && closing.await(wait, TimeUnit.NANOSECONDS)) {
          return; // closing
        }
        next = Math.max(next + period, System.nanoTime());
      } catch (InterruptedException e) {
        return; // closing
      }
      try {
        renew();
      } catch (RuntimeException e) {
        LOG.warn(
            "pipeline-jdbc: heartbeat of worker {} failed; trying again: {}",
            workerId,
            ErrorText.defaults().stackTrace(e));
      }
    }
  }

  private void renew() {
    for (String pipeline : leases.pipelines()) {
      List<Long> abandoned = new ArrayList<>();
      List<Long> tokens = leases.toRenew(pipeline, abandonAfterNanos, abandoned);
      if (!abandoned.isEmpty()) {
        LOG.warn(
            "pipeline-jdbc: {} batches of records of pipeline '{}' leased by worker {} saw no"
                + " progress for {} s; their leases are no longer renewed, so that they are"
                + " claimed again (was a run cancelled?)",
            abandoned.size(),
            pipeline,
            workerId,
            TimeUnit.NANOSECONDS.toSeconds(abandonAfterNanos));
      }
      List<String> ids = leases.ids(pipeline, tokens);
      List<BatchLedger.Batch> batches = List.of();
      if (ledger != null) {
        ids = ledger.held().notInBatches(pipeline, ids);
        batches = ledger.held().batchesOf(pipeline, tokens);
      }
      if ((ids.isEmpty() && batches.isEmpty()) || closed.get()) {
        continue;
      }
      Connection connection;
      try {
        connection = heartbeatSource.get();
      } catch (SQLException e) {
        LOG.warn(
            "pipeline-jdbc: heartbeat of worker {} has no connection ({}); leases of pipeline '{}'"
                + " are not renewed this time",
            workerId,
            ErrorText.describeDefault(e),
            pipeline);
        return;
      }
      boolean broken = false;
      try {
        if (!batches.isEmpty()) {
          Objects.requireNonNull(ledger).leases().renew(connection, batches);
        }
        if (!ids.isEmpty()) {
          renewLeases(connection, pipeline, ids, tokens);
        }
        heartbeats.increment();
      } catch (SQLException e) {
        broken = db.dialect.isTransient(e);
        LOG.warn(
            "pipeline-jdbc: heartbeat of worker {} could not renew leases of pipeline '{}': {}",
            workerId,
            pipeline,
            ErrorText.describeDefault(e));
      } finally {
        heartbeatSource.done(connection, broken);
      }
    }
  }

  /**
   * Extends the leases of this worker's records held under the tokens, in chunks of {@link
   * #RENEW_CHUNK} ids in id order, each in a short transaction of its own. Rows another transaction
   * has locked are skipped, not waited for: they are renewed on the next beat, well before their
   * lease runs out.
   *
   * <p>Renewing every lease of a pipeline in one transaction held its rows locked for as long as
   * that took (seconds, with tens of thousands of records in flight on H2), and the record path's
   * writes waited for them until H2's lock timeout (HYT00). On H2 each chunk also takes the
   * database's turn, so that in this JVM no operation of the record path runs while a chunk holds
   * its rows.
   */
  private void renewLeases(
      Connection connection, String pipeline, List<String> ids, List<Long> tokens)
      throws SQLException {
    Array tokenArray = connection.createArrayOf("bigint", tokens.toArray(Long[]::new));
    // the leases were renewed a beat ago and last two more: once the chunks have waited in line
    // for their turns for half the lease, the heartbeat keeps its turn for the rest
    long turnsUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(leaseMillis / 2);
    boolean turn = false;
    try {
      for (int from = 0; from < ids.size() && !closed.get(); from += RENEW_CHUNK) {
        List<String> chunk = ids.subList(from, Math.min(ids.size(), from + RENEW_CHUNK));
        Array idArray = connection.createArrayOf("varchar", chunk.toArray(String[]::new));
        if (!turn) {
          try {
            db.takeTurn();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          turn = true;
        }
        renewChunk(connection, pipeline, idArray, tokenArray);
        if (System.nanoTime() < turnsUntil) {
          db.endTurn(); // the record path goes on between chunks
          turn = false;
        }
      }
    } finally {
      if (turn) {
        db.endTurn();
      }
    }
  }

  private void renewChunk(Connection connection, String pipeline, Array ids, Array tokens)
      throws SQLException {
    String lock = sql.heartbeatLock;
    if (lock == null) {
      try (PreparedStatement renew = connection.prepareStatement(sql.heartbeat)) {
        renew.setLong(1, leaseMillis);
        renew.setString(2, pipeline);
        renew.setArray(3, ids);
        renew.setString(4, workerId);
        renew.setArray(5, tokens);
        renew.executeUpdate();
      }
      return;
    }
    connection.setAutoCommit(false);
    try {
      List<String> locked = new ArrayList<>();
      try (PreparedStatement select = connection.prepareStatement(lock)) {
        select.setString(1, pipeline);
        select.setArray(2, ids);
        select.setString(3, workerId);
        select.setArray(4, tokens);
        try (ResultSet rs = select.executeQuery()) {
          while (rs.next()) {
            locked.add(rs.getString(1));
          }
        }
      }
      if (!locked.isEmpty()) {
        try (PreparedStatement renew = connection.prepareStatement(sql.heartbeat)) {
          renew.setArray(1, connection.createArrayOf("varchar", locked.toArray(String[]::new)));
          renew.setString(2, pipeline);
          renew.setLong(3, leaseMillis);
          renew.executeUpdate();
        }
      }
      connection.commit();
    } catch (SQLException | RuntimeException e) {
      try {
        connection.rollback();
      } catch (SQLException rollback) {
        e.addSuppressed(rollback);
      }
      throw e;
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** Gives back the records this worker holds under the tokens (one JDBC batch). */
  int[] releaseTokens(Handle h, String pipeline, List<Long> tokens) {
    PreparedBatch batch = h.prepareBatch(sql.release);
    for (long token : tokens) {
      batch.bind("pipeline", pipeline).bind("owner", workerId).bind("token", token).add();
    }
    return batch.execute();
  }
}
