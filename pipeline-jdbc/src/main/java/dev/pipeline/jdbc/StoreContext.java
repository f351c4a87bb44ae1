package dev.pipeline.jdbc;

import dev.pipeline.store.spi.Claimed;
import java.time.Duration;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * What the parts of a {@link JdbcPipelineStore} share: the database and its statements, this
 * worker's id and leases, the pipelines registered, the batch ledger, whether the store is closed.
 * Each part ({@link Ingests}, {@link Claims}, {@link Completions}, ...) extends it with a copy, so
 * that all of them see the same objects.
 */
class StoreContext {
  private static final Map<String, ReentrantLock> H2_CLAIM_LOCKS = new ConcurrentHashMap<>();

  final Database db;
  final Statements sql;
  final Names names;
  final String workerId;
  final long leaseMillis;
  final long abandonAfterNanos;
  final Retention retention;
  final Leases leases;
  final Confirmations confirmations;
  final long deadWorkersCheckNanos;
  final Map<String, PipelineDef> pipelines;
  final AtomicBoolean closed;
  // H2 serves one JVM: its claims and registrations take turns instead of waiting on each other's
  // row locks
  final @Nullable ReentrantLock h2Lock;
  final Statistics statistics;
  // the batch ledger; null with rows from ingest (a row per record from its ingest)
  final @Nullable BatchLedger ledger;
  // the full ledger on the batch ledger: a record ending in its batch gets its full row too
  final boolean endRows;
  // per pipeline: records of batches this worker claimed beyond a claim's max, handed out first by
  // the next claims (they are held, their batches' leases renewed, like records in flight)
  final Map<String, Deque<Claimed>> stash;
  // per pipeline: how many times release() gave its records back; a batch ingested or claimed
  // while a release ran is given back too, rather than held by a run that is gone
  final Map<String, AtomicLong> releases;

  StoreContext(
      Database db,
      Names names,
      String workerId,
      Duration lease,
      Retention retention,
      @Nullable String databaseUrl,
      boolean maintainStatistics,
      boolean fullLedger,
      boolean rowsFromIngest) {
    this.db = db;
    this.statistics = new Statistics(maintainStatistics && db.dialect == Dialect.POSTGRESQL);
    this.h2Lock =
        db.dialect == Dialect.H2 && databaseUrl != null
            ? H2_CLAIM_LOCKS.computeIfAbsent(databaseUrl + "|" + names, k -> new ReentrantLock())
            : null;
    this.names = names;
    this.sql = new Statements(db.dialect, names, !retention.payloads().isZero());
    this.workerId = workerId;
    this.leaseMillis = lease.toMillis();
    this.endRows = fullLedger && !rowsFromIngest;
    this.ledger =
        rowsFromIngest
            ? null
            : new BatchLedger(
                db.dialect, names, workerId, leaseMillis, !retention.payloads().isZero());
    this.abandonAfterNanos = Math.max(lease.toNanos() * 10, TimeUnit.MINUTES.toNanos(1));
    Leases leases = new Leases(System::nanoTime);
    this.leases = leases;
    // a margin under the lease for the drift between this worker's clock and the database's
    this.confirmations =
        new Confirmations(
            lease.toNanos() / 10 * 9,
            System::nanoTime,
            System::currentTimeMillis,
            p -> leases.held(p));
    this.deadWorkersCheckNanos =
        Math.clamp(lease.toNanos() / 3, TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(10));
    this.retention = retention;
    this.pipelines = new ConcurrentHashMap<>();
    this.closed = new AtomicBoolean();
    this.stash = new ConcurrentHashMap<>();
    this.releases = new ConcurrentHashMap<>();
  }

  /** A part of the store, sharing the context's objects. */
  StoreContext(StoreContext shared) {
    this.db = shared.db;
    this.sql = shared.sql;
    this.names = shared.names;
    this.workerId = shared.workerId;
    this.leaseMillis = shared.leaseMillis;
    this.abandonAfterNanos = shared.abandonAfterNanos;
    this.retention = shared.retention;
    this.leases = shared.leases;
    this.confirmations = shared.confirmations;
    this.deadWorkersCheckNanos = shared.deadWorkersCheckNanos;
    this.pipelines = shared.pipelines;
    this.closed = shared.closed;
    this.h2Lock = shared.h2Lock;
    this.statistics = shared.statistics;
    this.ledger = shared.ledger;
    this.endRows = shared.endRows;
    this.stash = shared.stash;
    this.releases = shared.releases;
  }

  PipelineDef def(String pipeline) {
    PipelineDef def = pipelines.get(pipeline);
    if (def == null) {
      throw new IllegalStateException(
          "pipeline '"
              + pipeline
              + "' is not registered with this store; build the Pipeline with .store(store),"
              + " which registers its stages and their codecs, before running it");
    }
    return def;
  }

  long released(String pipeline) {
    java.util.concurrent.atomic.AtomicLong n = releases.get(pipeline);
    return n == null ? 0 : n.get();
  }

  void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("this JdbcPipelineStore (" + names + ") is closed");
    }
  }

  /** The store as {@link JdbcPipelineStore#toString()} describes it. */
  @Override
  public String toString() {
    return "JdbcPipelineStore["
        + db.dialect.name().toLowerCase(java.util.Locale.ROOT)
        + ", "
        + names
        + ", worker="
        + workerId
        + ", lease="
        + leaseMillis
        + "ms]";
  }
}
