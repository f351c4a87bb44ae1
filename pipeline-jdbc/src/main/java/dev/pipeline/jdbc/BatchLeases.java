package dev.pipeline.jdbc;

import dev.pipeline.jdbc.BatchLedger.Batch;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.StatementCustomizer;

/**
 * The leases of the batches of the {@link BatchLedger}: renewed by a worker that doubts them (back
 * from a pause) in one statement, in bulk by the heartbeat, given back at once when a run ends, and
 * taken over from a worker found dead. Every update names this worker and the batch's token, so a
 * worker whose batch was claimed again changes nothing.
 */
final class BatchLeases extends LedgerPart {
  private static final Instant PAST = Instant.EPOCH;

  BatchLeases(LedgerPart.Setup setup) {
    super(setup);
  }

  /**
   * Renews the leases of batches in one statement, each only if this worker still holds it under
   * the token it has; returns the ids of those it holds.
   */
  Set<Long> renewHeld(Handle h, Collection<Batch> held) {
    if (held.isEmpty()) {
      return Set.of();
    }
    // in batch id order: each batch is probed, and locked, in the order of the ids bound, so that
    // two renewals of shared batches lock them in one order
    List<Batch> ordered = new ArrayList<>(held);
    ordered.sort(java.util.Comparator.comparingLong(Batch::id));
    Long[] ids = new Long[ordered.size()];
    Long[] tokens = new Long[ordered.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = ordered.get(i).id();
      tokens[i] = ordered.get(i).token();
    }
    return new HashSet<>(
        h.createQuery(sql.renewHeld)
            // planned with its values, as the heartbeat's renewal (see renew)
            .addCustomizer(
                new StatementCustomizer() {
                  @Override
                  public void beforeExecution(PreparedStatement statement, StatementContext ctx)
                      throws SQLException {
                    dialect.planWithValues(statement);
                  }
                })
            .bind("lease_ms", leaseMillis)
            .bind("ids", Args.array("bigint", ids))
            .bind("tokens", Args.array("bigint", tokens))
            .bind("owner", workerId)
            .mapTo(Long.class)
            .list());
  }

  /**
   * The heartbeat's renewal of batches, on its own connection. On PostgreSQL one statement that
   * skips the batch rows another transaction holds (a sink call's write renews them itself), so the
   * heartbeat never waits on, or deadlocks with, the record path; on H2, one update per batch in
   * batch id order (H2's record path takes turns with the heartbeat).
   */
  void renew(Connection connection, List<Batch> held) throws SQLException {
    List<Batch> ordered = new ArrayList<>(held);
    ordered.sort(java.util.Comparator.comparingLong(Batch::id));
    if (dialect.locksInSubqueries()) {
      Long[] ids = new Long[ordered.size()];
      Long[] tokens = new Long[ordered.size()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = ordered.get(i).id();
        tokens[i] = ordered.get(i).token();
      }
      // the ids in batch id order: each batch is probed, and locked, in the order bound
      try (PreparedStatement renew = connection.prepareStatement(sql.heartbeatRenew)) {
        // planned with its values each time: a generic plan made while the batches were few would
        // update them through a scan of the table for as long as the connection lives. Not by a
        // SET LOCAL in a transaction: a worker paused in it would hold the rows it renewed
        dialect.planWithValues(renew);
        renew.setLong(1, leaseMillis);
        renew.setArray(2, connection.createArrayOf("bigint", ids));
        renew.setArray(3, connection.createArrayOf("bigint", tokens));
        renew.setString(4, workerId);
        renew.executeUpdate();
      }
      return;
    }
    String positional =
        "UPDATE "
            + sql.batches
            + " SET lease_expires_at = "
            + dialect.plusMillis("?")
            + " WHERE batch_id = ? AND lease_owner = ? AND lease_token = ? AND state = 'OPEN'";
    try (PreparedStatement renew = connection.prepareStatement(positional)) {
      for (Batch b : ordered) {
        renew.setLong(1, leaseMillis);
        renew.setLong(2, b.id());
        renew.setString(3, workerId);
        renew.setLong(4, b.token());
        renew.addBatch();
      }
      renew.executeBatch();
    }
  }

  /** Gives batches back at once: their leases end now, so any worker claims them. */
  int release(Handle h, List<Batch> held) {
    List<Batch> ordered = new ArrayList<>(held);
    ordered.sort(java.util.Comparator.comparingLong(Batch::id)); // one lock order for all writers
    PreparedBatch release = h.prepareBatch(sql.releaseOne);
    for (Batch b : ordered) {
      release
          .bind("past", Args.time(PAST))
          .bind("batch", b.id())
          .bind("owner", workerId)
          .bind("token", b.token())
          .add();
    }
    int n = 0;
    if (release.size() > 0) {
      for (int k : release.execute()) {
        n += Math.max(0, k);
      }
    }
    return n;
  }

  int takeOver(Handle h, String pipeline, String dead) {
    return h.createUpdate(sql.takeOver)
        .bind("past", Args.time(PAST))
        .bind("pipeline", pipeline)
        .bind("dead", dead)
        .execute();
  }

  int renewExpiredHeld(Handle h, String pipeline, Long[] held) {
    return h.createUpdate(sql.renewExpiredHeld)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("lease_ms", leaseMillis)
        .bind("held", Args.array("bigint", held))
        .execute();
  }
}
