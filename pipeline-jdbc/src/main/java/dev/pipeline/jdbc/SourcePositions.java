package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;

import dev.pipeline.store.StorableText;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Where runs stopped reading seekable sources, for a {@link JdbcPipelineStore}: a row per pipeline
 * and source in {@code pipeline_source_positions}, written after the records before the position
 * were stored (so a crash in between only reads some again, as duplicates) and deleted when the
 * source was read to its end.
 */
final class SourcePositions extends StoreContext {
  private final String find;
  private final String upsert;
  private final String forget;

  SourcePositions(StoreContext shared) {
    super(shared);
    String table = names.sourcePositions();
    this.find =
        "SELECT position FROM " + table + " WHERE pipeline = :pipeline AND source_id = :source";
    this.upsert =
        db.dialect == Dialect.POSTGRESQL
            ? "INSERT INTO "
                + table
                + " (pipeline, source_id, position, worker_id, updated_at) VALUES (:pipeline,"
                + " :source, :position, :worker, :at) ON CONFLICT (pipeline, source_id) DO UPDATE"
                + " SET position = EXCLUDED.position, worker_id = EXCLUDED.worker_id, updated_at"
                + " = EXCLUDED.updated_at"
            : "MERGE INTO "
                + table
                + " (pipeline, source_id, position, worker_id, updated_at) KEY (pipeline,"
                + " source_id) VALUES (:pipeline, :source, :position, :worker, :at)";
    this.forget = "DELETE FROM " + table + " WHERE pipeline = :pipeline AND source_id = :source";
  }

  Optional<String> position(String pipeline, String sourceId) {
    check(pipeline, sourceId);
    return db.call(
        "sourcePosition",
        pipeline,
        h ->
            h.createQuery(find)
                .bind("pipeline", pipeline)
                .bind("source", sourceId)
                .mapTo(String.class)
                .findOne());
  }

  void keep(String pipeline, String sourceId, @Nullable String position) {
    check(pipeline, sourceId);
    if (position != null) {
      String problem = StorableText.idProblem(position); // its length bound is the position's
      if (problem != null) {
        throw new IllegalArgumentException(
            "the position source '"
                + StorableText.escape(sourceId, 200)
                + "' gave cannot be stored: it "
                + problem);
      }
    }
    Instant at = Instant.now();
    db.call(
        "keepSourcePosition",
        pipeline,
        h ->
            position == null
                ? h.createUpdate(forget)
                    .bind("pipeline", pipeline)
                    .bind("source", sourceId)
                    .execute()
                : h.createUpdate(upsert)
                    .bind("pipeline", pipeline)
                    .bind("source", sourceId)
                    .bind("position", position)
                    .bind("worker", workerId)
                    .bind("at", Args.time(at))
                    .execute());
  }

  private void check(String pipeline, String sourceId) {
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
    checkPipeline(pipeline);
    checkOpen();
    String problem = StorableText.idProblem(sourceId);
    if (problem != null) {
      throw new IllegalArgumentException(
          "source id '" + StorableText.escape(sourceId, 200) + "' cannot be stored: it " + problem);
    }
  }
}
