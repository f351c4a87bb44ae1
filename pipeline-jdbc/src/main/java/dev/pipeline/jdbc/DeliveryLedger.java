package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;

import dev.pipeline.SafeText;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.HeldLeases;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The delivery ledger of a {@link JdbcPipelineStore}: notes the deliveries of records handed to the
 * sink, finds which records this worker no longer holds (and who does), reports leases lost, and
 * takes over the leases of dead workers of this host.
 */
final class DeliveryLedger extends StoreContext {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  DeliveryLedger(StoreContext shared) {
    super(shared);
  }

  // per pipeline: when this worker last looked for dead workers of this host to take over
  private final Map<String, Long> deadWorkersCheckedAt = new ConcurrentHashMap<>();

  /** What a delivery note found: records handed over before, and the noted ones' fencing tokens. */
  record Noted(Set<String> redelivered, Map<String, Long> tokens) {
    static final Noted NONE = new Noted(Set.of(), Map.of());
  }

  /**
   * Counts a hand-over of each record this worker holds under its token, and renews its lease;
   * returns those handed over before and each noted record's fencing token.
   */
  Noted deliverRows(Handle h, String pipeline, long delivery, Map<String, Long> held) {
    Set<String> redelivered = new HashSet<>();
    Map<String, Long> tokens = new HashMap<>(held.size() * 2);
    bindOwned(h.createQuery(sql.beginDelivery), pipeline, held)
        .bind("delivery", delivery)
        .map(
            (rs, ctx) -> {
              String id = rs.getString(1);
              if (rs.getInt(2) > 1) {
                redelivered.add(id);
              }
              tokens.put(id, rs.getLong(3) + 1);
              return id;
            })
        .forEach(id -> {});
    return new Noted(redelivered, tokens);
  }

  /** Binds the ids and tokens of rows this worker holds, for a statement of {@code ownedByIds}. */
  private Query bindOwned(Query query, String pipeline, Map<String, Long> held) {
    return query
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("lease_ms", leaseMillis)
        .bind("ids", Args.array("varchar", held.keySet().toArray(String[]::new)))
        .bind("tokens", Args.array("bigint", held.values().toArray(Long[]::new)));
  }

  /**
   * The records whose leases {@link #notHeld} would have to ask the database about. The pipeline's
   * name is not checked here: nothing is sent, and an unknown name vouches for nothing.
   */
  Collection<String> inDoubt(String pipeline, Collection<String> recordIds) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(recordIds, "recordIds cannot be null");
    return confirmations.doubtful(pipeline, recordIds);
  }

  Set<String> notHeld(String pipeline, Collection<String> recordIds) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordIds, "recordIds cannot be null");
    List<String> doubtful = confirmations.doubtful(pipeline, recordIds);
    if (doubtful.isEmpty()) {
      return Set.of();
    }
    checkOpen();
    Set<String> gone = new HashSet<>();
    if (ledger != null && ledger.held().anyIn(pipeline, doubtful)) {
      doubtful = notHeldInBatches(pipeline, doubtful, gone);
    }
    Map<String, Long> held = new TreeMap<>();
    for (String id : doubtful) {
      Long token = leases.token(pipeline, id);
      if (token == null) {
        gone.add(id);
      } else {
        held.put(id, token);
      }
    }
    if (held.isEmpty()) {
      return gone;
    }
    Confirmations.Sent sent = confirmations.now();
    Set<String> renewed =
        new HashSet<>(
            db.call(
                "renew",
                pipeline,
                h ->
                    bindOwned(h.createQuery(sql.renewHeld), pipeline, held)
                        .mapTo(String.class)
                        .list()));
    confirmations.confirm(pipeline, renewed, sent);
    Map<String, Long> lost = new HashMap<>();
    for (Map.Entry<String, Long> e : held.entrySet()) {
      if (!renewed.contains(e.getKey())) {
        lost.put(e.getKey(), e.getValue());
      }
    }
    if (!lost.isEmpty()) {
      lose(pipeline, lost, "this worker drops its copies in flight");
      gone.addAll(lost.keySet());
    }
    return gone;
  }

  /**
   * Renews the batches of doubtful records held in batches, adding the records of batches this
   * worker no longer holds to {@code gone}; returns the doubtful records that have rows.
   */
  private List<String> notHeldInBatches(String pipeline, List<String> doubtful, Set<String> gone) {
    BatchLedger ledger = Objects.requireNonNull(this.ledger);
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> groups =
        ledger.held().byBatch(pipeline, doubtful);
    Confirmations.Sent sent = confirmations.now();
    // one statement for all the batches: a worker back from a pause doubts every batch it holds
    Set<Long> held = db.call("renew", pipeline, h -> ledger.leases().renewHeld(h, groups.keySet()));
    Map<String, Long> lost = new HashMap<>();
    Set<String> renewed = new HashSet<>();
    Set<BatchLedger.Batch> kept = new HashSet<>();
    groups.forEach(
        (b, slots) -> {
          for (BatchLedger.Slot slot : slots) {
            if (!held.contains(b.id())) {
              lost.put(slot.entry().id(), b.token());
            } else {
              renewed.add(slot.entry().id());
            }
          }
          if (held.contains(b.id())) {
            kept.add(b);
          }
        });
    // the renewal renewed each kept batch's lease, so every record held in it is confirmed, not
    // only the doubtful ones: a worker taking one record at a time (batches sized by time) would
    // otherwise renew the same batch again for each of its records
    confirmations.confirm(pipeline, ledger.held().idsIn(pipeline, kept), sent);
    if (!lost.isEmpty()) {
      ledger.held().forget(pipeline, lost.keySet());
      lose(pipeline, lost, "this worker drops its copies in flight");
      gone.addAll(lost.keySet());
    }
    List<String> rest = new ArrayList<>();
    for (String id : doubtful) {
      if (!renewed.contains(id) && !lost.containsKey(id)) {
        rest.add(id);
      }
    }
    return rest;
  }

  /**
   * Forgets records this worker no longer holds, found out before it worked on them further, and
   * says what became of them.
   */
  void lose(String pipeline, Map<String, Long> lost, String consequence) {
    long unconfirmed = confirmations.oldest(pipeline, lost.keySet());
    lost.forEach((id, token) -> leases.drop(pipeline, id, token));
    confirmations.forget(pipeline, lost.keySet());
    Map<String, String> holders = new HashMap<>();
    try {
      db.call(
              "lookupLeases",
              pipeline,
              h ->
                  h.createQuery(sql.lookupLeases)
                      .bind("pipeline", pipeline)
                      .bind("ids", Args.texts(lost.keySet()))
                      .map((rs, ctx) -> Map.entry(rs.getString("record_id"), holder(rs)))
                      .list())
          .forEach(e -> holders.put(e.getKey(), e.getValue()));
    } catch (JdbcStoreException e) {
      LOG.debug(
          "pipeline-jdbc: could not look up who holds the records now: {}", SafeText.describe(e));
    }
    BatchLedger ledger = this.ledger;
    if (ledger != null && holders.size() < lost.size()) {
      List<String> rowless = new ArrayList<>();
      for (String id : lost.keySet()) {
        if (!holders.containsKey(id)) {
          rowless.add(id);
        }
      }
      try {
        db.call("lookupLeases", pipeline, h -> ledger.queries().holders(h, pipeline, rowless))
            .forEach((id, b) -> holders.put(id, batchHolder(b[0], b[1], b[2])));
      } catch (JdbcStoreException e) {
        LOG.debug(
            "pipeline-jdbc: could not look up who holds the batches now: {}", SafeText.describe(e));
      }
    }
    for (String id : lost.keySet()) {
      holders.putIfAbsent(id, "no worker (the record is gone)");
    }
    reportLost(pipeline, holders, unconfirmed, consequence);
  }

  /** Who holds a record of a batch now, from its batch's state, owner and last claimer. */
  private String batchHolder(String state, @Nullable String owner, @Nullable String worker) {
    String who =
        workerId.equals(owner != null ? owner : worker)
            ? "this worker"
            : "worker " + ErrorText.loggable(owner != null ? owner : worker);
    if ("DONE".equals(state)) {
      return who + ", which finished it";
    }
    return owner == null ? "no worker (given back, ready to be claimed)" : who;
  }

  /** Who holds a record now, from a row of {@code lookupLeases}, for a message. */
  String holder(ResultSet rs) throws SQLException {
    RecordStatus status = RecordStatus.valueOf(rs.getString("status"));
    String worker = rs.getString("worker_id");
    String who = workerId.equals(worker) ? "this worker" : "worker " + ErrorText.loggable(worker);
    return switch (status) {
      case IN_PROGRESS -> who;
      case READY -> "no worker (given back, ready to be claimed)";
      case RETRY_WAIT -> "the retry queue (parked by " + who + ")";
      default -> who + ", which finished it";
    };
  }

  /**
   * Logs that this worker's lease on records ran out and who took them, saying why as far as this
   * worker knows: a database outage it waited out, or a time without any renewal reaching the
   * database (a paused process).
   */
  void reportLost(
      String pipeline, Map<String, String> holders, long unconfirmedNanos, String consequence) {
    Map<String, Integer> byHolder = new TreeMap<>();
    holders.values().forEach(w -> byHolder.merge(w, 1, Integer::sum));
    StringBuilder who = new StringBuilder();
    byHolder.forEach(
        (w, n) ->
            who.append(who.isEmpty() ? "" : ", ").append(w).append(" (").append(n).append(')'));
    Database.Outage outage = db.lastOutage();
    long leaseNanos = TimeUnit.MILLISECONDS.toNanos(leaseMillis);
    String why;
    if (outage != null
        && outage.nanos() > leaseNanos / 2
        && System.nanoTime() - outage.endedAt() < unconfirmedNanos + leaseNanos) {
      why = "during a database outage of " + seconds(outage.nanos());
    } else if (unconfirmedNanos > leaseNanos) {
      why =
          "after "
              + seconds(unconfirmedNanos)
              + " in which no renewal of it reached the database (was this process paused, or"
              + " cut off from the database?)";
    } else {
      why = "before a renewal reached the database";
    }
    LOG.warn(
        "pipeline-jdbc: the lease of worker {} (this worker) on {} records of pipeline '{}' ran out"
            + " {} (lease {} ms); they were re-claimed by {}: {}, their holder finishes them"
            + " (first '{}')",
        ErrorText.loggable(workerId),
        holders.size(),
        ErrorText.loggable(pipeline),
        why,
        leaseMillis,
        ErrorText.loggable(who),
        consequence,
        ErrorText.loggable(holders.keySet().iterator().next()));
  }

  private static String seconds(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.1f s", nanos / 1e9);
  }

  Set<String> unfinished(String pipeline, Collection<String> recordIds) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordIds, "recordIds cannot be null");
    checkOpen();
    if (recordIds.isEmpty()) {
      return Set.of();
    }
    return new HashSet<>(
        db.call(
            "unfinished",
            pipeline,
            h -> {
              // rows and batch members in one round trip: a duplicate in a batch is common
              return h.createQuery(
                      ledger == null
                          ? sql.unfinishedOf
                          : sql.unfinishedOf + " UNION ALL " + ledger.queries().unfinishedOf())
                  .bind("pipeline", pipeline)
                  .bind("owner", workerId)
                  .bind("ids", Args.texts(recordIds))
                  .mapTo(String.class)
                  .list();
            }));
  }

  List<HeldLeases> leasesHeldElsewhere(String pipeline) {
    checkPipeline(pipeline);
    checkOpen();
    List<HeldLeases> rows =
        db.call(
            "leasesHeldElsewhere",
            pipeline,
            h ->
                h.createQuery(sql.leasesElsewhere)
                    .bind("pipeline", pipeline)
                    .bind("owner", workerId)
                    .map(
                        (rs, ctx) -> {
                          Instant expires = Args.instant(rs, "expires");
                          Instant now = Args.instant(rs, "now");
                          Duration left =
                              expires == null || now == null
                                  ? Duration.ZERO
                                  : Duration.between(now, expires);
                          return new HeldLeases(
                              rs.getString("lease_owner"), rs.getLong("records"), left);
                        })
                    .list());
    BatchLedger ledger = this.ledger;
    if (ledger == null) {
      return rows;
    }
    List<Object[]> batches =
        db.call(
            "leasesHeldElsewhere", pipeline, h -> ledger.queries().leasesElsewhere(h, pipeline));
    if (batches.isEmpty()) {
      return rows;
    }
    Map<String, HeldLeases> byWorker = new LinkedHashMap<>();
    for (HeldLeases r : rows) {
      byWorker.put(r.worker(), r);
    }
    for (Object[] b : batches) {
      String worker = (String) b[0];
      long records = (Long) b[1];
      Instant expires = (Instant) b[2];
      Instant now = (Instant) b[3];
      Duration left =
          expires == null || now == null ? Duration.ZERO : Duration.between(now, expires);
      HeldLeases before = byWorker.get(worker);
      byWorker.put(
          worker,
          before == null
              ? new HeldLeases(worker, records, left)
              : new HeldLeases(
                  worker,
                  before.records() + records,
                  before.expiresWithin().compareTo(left) >= 0 ? before.expiresWithin() : left));
    }
    return new ArrayList<>(byWorker.values());
  }

  /**
   * Before a claim: renews this worker's own leases that ran out while it still holds their records
   * (a database outage longer than the lease, a heartbeat that did not reach them), so that it goes
   * on with them rather than compete with itself or leave them to another worker; and gives back at
   * once the records held by workers of this host whose process is gone (see {@link LocalWorkers}),
   * so that they are claimed now rather than when their leases expire. At most once per third of a
   * lease (between 1 and 10 s) per pipeline, and at once after an outage.
   */
  void maintainLeases(String pipeline, Long[] held) {
    long now = System.nanoTime();
    Database.Outage outage = db.lastOutage();
    Long last = deadWorkersCheckedAt.get(pipeline);
    if (last != null
        && now - last < deadWorkersCheckNanos
        && (outage == null || outage.endedAt() - last < 0)) {
      return;
    }
    deadWorkersCheckedAt.put(pipeline, now);
    if (held.length > 0) {
      int renewed =
          db.call(
              "renew",
              pipeline,
              h ->
                  h.createUpdate(sql.renewExpiredHeld)
                          .bind("pipeline", pipeline)
                          .bind("owner", workerId)
                          .bind("lease_ms", leaseMillis)
                          .bind("held", Args.array("bigint", held))
                          .execute()
                      + (ledger == null ? 0 : ledger.leases().renewExpiredHeld(h, pipeline, held)));
      if (renewed > 0) {
        LOG.info(
            "pipeline-jdbc: the leases of worker {} (this worker) on {} records of pipeline '{}' it"
                + " is still processing had run out{} (lease {} ms); no other worker had taken them,"
                + " so they are renewed and this worker goes on with them",
            workerId,
            renewed,
            pipeline,
            outage != null && outage.nanos() > TimeUnit.MILLISECONDS.toNanos(leaseMillis) / 2
                ? " during a database outage of " + seconds(outage.nanos())
                : "",
            leaseMillis);
      }
    }
    for (HeldLeases other : leasesHeldElsewhere(pipeline)) {
      if (!LocalWorkers.isGone(other.worker())) {
        continue;
      }
      int taken =
          db.call(
              "takeOver",
              pipeline,
              h ->
                  h.createUpdate(sql.takeOver)
                          .bind("pipeline", pipeline)
                          .bind("dead", other.worker())
                          .execute()
                      + (ledger == null
                          ? 0
                          : ledger.leases().takeOver(h, pipeline, other.worker())));
      if (taken > 0) {
        LOG.info(
            "pipeline-jdbc: worker {} ran on this host as process {}, which is gone; its {} records"
                + " of pipeline '{}' are taken over now instead of when its leases expire (in up to"
                + " {} s)",
            ErrorText.loggable(other.worker()),
            ErrorText.loggable(LocalWorkers.pid(other.worker()).orElse("?")),
            taken,
            pipeline,
            other.expiresWithin().toSeconds());
      }
    }
  }

  /** A delivery is progress: the leases of the delivered records' batches are not abandoned. */
  void delivered(String pipeline, Set<String> ids) {
    Set<Long> tokens = new HashSet<>();
    for (String id : ids) {
      Long token = leases.token(pipeline, id);
      if (token != null) {
        tokens.add(token);
      }
    }
    tokens.forEach(t -> leases.touch(pipeline, t));
  }
}
