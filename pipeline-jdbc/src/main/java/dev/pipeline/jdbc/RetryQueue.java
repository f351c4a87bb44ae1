package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;
import static dev.pipeline.jdbc.Completions.lastErrorText;
import static dev.pipeline.jdbc.Completions.lastErrorType;
import static dev.pipeline.jdbc.Payloads.encode;

import dev.pipeline.PipelineException;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.jdbc.Payloads.Stored;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.ScheduledRetry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The retry queue of a {@link JdbcPipelineStore}: parks records whose retry waits, with their
 * payload at the stage to retry and a due time on the database's clock, until a claim takes them.
 */
final class RetryQueue extends StoreContext {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  private final Completions completions;
  private final Ingests ingests;

  RetryQueue(StoreContext shared, Completions completions, Ingests ingests) {
    super(shared);
    this.completions = completions;
    this.ingests = ingests;
  }

  private static final Duration MAX_DELAY = Duration.ofDays(3650);

  Set<String> scheduleRetries(String pipeline, List<ScheduledRetry> retries, Instant at) {
    checkPipeline(pipeline);
    Objects.requireNonNull(retries, "retries cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    checkOpen();
    if (retries.isEmpty()) {
      return Set.of();
    }
    PipelineDef def = def(pipeline);
    List<String> ids = new ArrayList<>(retries.size());
    for (ScheduledRetry r : retries) {
      ids.add(r.recordId());
    }
    ingests.moveToRows(pipeline, ids, at);
    Set<String> refused = new HashSet<>();
    List<Parked> parked = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    // everything is encoded before anything is written
    for (ScheduledRetry r : retries) {
      if (!seen.add(r.recordId())) {
        continue; // the first retry of a record wins
      }
      PayloadCodec<?> codec = def.codec(r.stage());
      if (codec == null) {
        throw new PipelineException(
            "cannot park record '"
                + r.recordId()
                + "' of pipeline '"
                + pipeline
                + "' in the retry queue at stage '"
                + r.stage()
                + "': the stage has no input codec, so its records cannot be stored; add"
                + " s.codec(...) to the options of the stage before it");
      }
      Stored payload = encode(pipeline, r.stage(), codec, r.record(), "retry");
      Long token = leases.token(pipeline, r.recordId());
      if (token == null) {
        refused.add(r.recordId()); // not held: completed already, given back, or never held
        continue;
      }
      parked.add(new Parked(r, token, payload));
    }
    parked.sort(Comparator.comparing(p -> p.retry().recordId())); // one lock order for all
    // let go of them before the rows become claimable: a short retry may be due, and claimed by
    // this worker's claimer, before this call returns; still held here, it would look in flight
    // (and not be handed out). Should the write fail, their leases run out and they are claimed.
    for (Parked p : parked) {
      leases.touch(pipeline, p.token());
      leases.drop(pipeline, p.retry().recordId(), p.token());
    }
    if (!parked.isEmpty()) {
      refused.addAll(
          db.transaction("scheduleRetries", pipeline, h -> parkRows(h, pipeline, def, parked, at)));
    }
    if (!refused.isEmpty()) {
      LOG.info(
          "pipeline-jdbc: {} retries of pipeline '{}' refused: another worker took the records"
              + " over after this worker's lease expired (first '{}')",
          refused.size(),
          pipeline,
          ErrorText.loggable(refused.iterator().next()));
    }
    return refused;
  }

  private Set<String> parkRows(
      Handle h, String pipeline, PipelineDef def, List<Parked> parked, Instant at) {
    PreparedBatch update = h.prepareBatch(sql.park);
    for (Parked p : parked) {
      ScheduledRetry r = p.retry();
      Stored s = p.payload();
      update
          .bind("pipeline", pipeline)
          .bind("id", r.recordId())
          .bind("owner", workerId)
          .bind("token", p.token())
          .bind("stage", r.stage())
          .bind("payload", Args.bytes(s.payload()))
          .bind("format", s.format())
          .bind("checksum", s.checksum())
          .bind("metadata", Args.text(s.metadata()))
          .bind("attempts", r.attempts())
          .bind("last_error", Args.text(lastErrorText(r.errors())))
          .bind("error_type", Args.text(lastErrorType(r.errors())))
          .bind("at", Args.time(at))
          .add();
    }
    int[] counts = update.execute();
    List<Parked> won = new ArrayList<>();
    Map<String, Long> zero = new HashMap<>();
    for (int i = 0; i < counts.length; i++) {
      Parked p = parked.get(i);
      if (counts[i] == 0) {
        zero.put(p.retry().recordId(), p.token());
      } else {
        won.add(p);
      }
    }
    Set<String> refused = new HashSet<>(zero.keySet());
    if (!zero.isEmpty()) {
      // parked already by this very call (run again after a lost reply), or taken over
      h.createQuery(sql.lookupLeases)
          .bind("pipeline", pipeline)
          .bind("ids", Args.texts(zero.keySet()))
          .map(
              (rs, ctx) -> {
                String id = rs.getString("record_id");
                boolean ours =
                    RecordStatus.RETRY_WAIT.name().equals(rs.getString("status"))
                        && workerId.equals(rs.getString("worker_id"))
                        && rs.getLong("lease_token") == zero.get(id);
                return ours ? id : "";
              })
          .forEach(refused::remove);
    }
    if (won.isEmpty()) {
      return refused;
    }
    PreparedBatch enqueue = h.prepareBatch(sql.enqueueRetry);
    PreparedBatch errors = null;
    for (Parked p : won) {
      ScheduledRetry r = p.retry();
      enqueue
          .bind("pipeline", pipeline)
          .bind("id", r.recordId())
          .bind("stage_id", Args.int64(def.stageId(r.stage())))
          .bind("stage", r.stage())
          .bind("attempts", r.attempts())
          .bind("max_retries", r.maxRetries())
          .bind("delay_ms", delayMillis(r.delay()))
          .bind("multiplier", r.backoffMultiplier())
          .bind("last_error", Args.text(lastErrorText(r.errors())))
          .add();
      errors = completions.addErrors(h, errors, pipeline, def, r.recordId(), r.errors());
    }
    enqueue.execute();
    if (errors != null) {
      errors.execute();
      List<String> erred = new ArrayList<>();
      for (Parked p : won) {
        if (!p.retry().errors().isEmpty()) {
          erred.add(p.retry().recordId());
        }
      }
      completions.boundErrorRows(h, pipeline, def, erred);
    }
    return refused;
  }

  private static long delayMillis(Duration delay) {
    return delay.compareTo(MAX_DELAY) > 0 ? MAX_DELAY.toMillis() : delay.toMillis();
  }

  private record Parked(ScheduledRetry retry, long token, Stored payload) {}
}
