package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.cut;
import static dev.pipeline.jdbc.Payloads.column;
import static dev.pipeline.jdbc.Payloads.encode;
import static dev.pipeline.jdbc.Payloads.payloads;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.jdbc.Payloads.Stored;
import dev.pipeline.store.PayloadCodec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saves checkpoints for a {@link JdbcPipelineStore}: a record's payload, encoded with the next
 * stage's input codec, and its stage, where this worker still holds it.
 */
final class Checkpoints extends StoreContext {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  private final Ingests ingests;

  Checkpoints(StoreContext shared, Ingests ingests) {
    super(shared);
    this.ingests = ingests;
  }

  void checkpoint(
      String pipeline, List<? extends Envelope<?>> records, String nextStage, Instant at) {
    Objects.requireNonNull(records, "records cannot be null");
    Objects.requireNonNull(nextStage, "nextStage cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    checkOpen();
    if (records.isEmpty()) {
      return;
    }
    PipelineDef def = def(pipeline);
    PayloadCodec<?> codec = def.codec(nextStage);
    if (codec == null) {
      throw new PipelineException(
          "cannot checkpoint pipeline '"
              + pipeline
              + "' before stage '"
              + nextStage
              + "': the stage before it has no codec for its output; add s.codec(...) to its"
              + " options");
    }
    List<String> ids = new ArrayList<>(records.size());
    for (Envelope<?> record : records) {
      ids.add(record.id());
    }
    ingests.moveToRows(pipeline, ids, at);
    List<Stored> rows = new ArrayList<>(records.size());
    int notHeld = 0;
    for (Envelope<?> record : records) {
      Long token = leases.token(pipeline, record.id());
      if (token == null) {
        notHeld++;
        continue;
      }
      Stored stored;
      try {
        stored = encode(pipeline, nextStage, codec, record, "checkpoint");
      } catch (PipelineException e) {
        // the record goes on in memory; a crash would resume it from its previous checkpoint
        LOG.warn(
            "pipeline-jdbc: {}; record '{}' keeps its previous checkpoint",
            ErrorText.describeDefault(e),
            ErrorText.loggable(record.id()));
        continue;
      }
      rows.add(stored.withToken(token));
    }
    if (rows.isEmpty()) {
      return;
    }
    rows.sort(Comparator.comparing(Stored::id));
    if (sql.checkpointAll != null) {
      String all = sql.checkpointAll;
      Set<String> saved =
          db.call(
              "checkpoint",
              pipeline,
              h ->
                  new HashSet<>(
                      h.createQuery(all)
                          .bind("pipeline", pipeline)
                          .bind("owner", workerId)
                          .bind("stage", nextStage)
                          .bind("format", cut(codec.name(), 300))
                          .bind("lease_ms", leaseMillis)
                          .bind("at", Args.time(at))
                          .bind(
                              "ids", Args.array("varchar", column(rows, Stored::id, String[]::new)))
                          .bind(
                              "tokens",
                              Args.array("int8", column(rows, Stored::token, Long[]::new)))
                          .bind("payloads", Args.array("bytea", payloads(rows)))
                          .bind(
                              "checksums",
                              Args.array("int8", column(rows, Stored::checksum, Long[]::new)))
                          .bind(
                              "metadatas",
                              Args.array("varchar", column(rows, Stored::metadata, String[]::new)))
                          .mapTo(String.class)
                          .list()));
      int refused = notHeld;
      for (Stored s : rows) {
        leases.touch(pipeline, s.token());
        if (!saved.contains(s.id())) {
          refused++;
        }
      }
      logRefusedCheckpoints(pipeline, refused, records.size());
      return;
    }
    int[] counts =
        db.call(
            "checkpoint",
            pipeline,
            h -> {
              PreparedBatch batch = h.prepareBatch(sql.checkpoint);
              for (Stored s : rows) {
                batch
                    .bind("pipeline", pipeline)
                    .bind("id", s.id())
                    .bind("owner", workerId)
                    .bind("token", s.token())
                    .bind("stage", nextStage)
                    .bind("payload", Args.bytes(s.payload()))
                    .bind("format", cut(codec.name(), 300))
                    .bind("checksum", s.checksum())
                    .bind("metadata", Args.text(s.metadata()))
                    .bind("lease_ms", leaseMillis)
                    .bind("at", Args.time(at))
                    .add();
              }
              return batch.execute();
            });
    Set<Long> tokens = new HashSet<>();
    int refused = notHeld;
    for (int i = 0; i < rows.size(); i++) {
      tokens.add(rows.get(i).token());
      if (counts[i] == 0) {
        refused++;
      }
    }
    tokens.forEach(t -> leases.touch(pipeline, t));
    logRefusedCheckpoints(pipeline, refused, records.size());
  }

  private static void logRefusedCheckpoints(String pipeline, int refused, int of) {
    if (refused > 0) {
      LOG.debug(
          "pipeline-jdbc: {} of {} checkpoints of pipeline '{}' refused: another worker holds"
              + " their lease",
          refused,
          of,
          pipeline);
    }
  }
}
