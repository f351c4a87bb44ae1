package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkName;
import static dev.pipeline.jdbc.Checks.checkPipeline;
import static dev.pipeline.jdbc.Checks.cut;

import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.Registrations;
import dev.pipeline.store.spi.StageDescriptor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jspecify.annotations.Nullable;

/**
 * Registers pipelines for a {@link JdbcPipelineStore}: their stages, codecs and stage ids, kept in
 * the table and in memory ({@link PipelineDef}), and the hold a live pipeline has on its name.
 */
final class Registration extends StoreContext {
  Registration(StoreContext shared) {
    super(shared);
  }

  private final Registrations registrations = new Registrations();

  void register(String pipeline, List<StageDescriptor> stages) {
    checkPipeline(pipeline);
    List<StageDescriptor> copy = List.copyOf(stages);
    checkOpen();
    List<String> stageNames = new ArrayList<>();
    for (StageDescriptor s : copy) {
      checkName("stage", s.name());
      stageNames.add(s.name());
    }
    registrations.hold(toString(), pipeline, copy);
    try {
      registerHeld(pipeline, copy, stageNames);
    } catch (RuntimeException e) {
      registrations.release(pipeline);
      throw e;
    }
  }

  void unregister(String pipeline) {
    checkPipeline(pipeline);
    registrations.release(pipeline);
  }

  private void registerHeld(String pipeline, List<StageDescriptor> copy, List<String> stageNames) {
    if (h2Lock != null) {
      h2Lock.lock(); // H2's MERGE is no atomic upsert: registrations of one JVM take turns
    }
    Map<String, Long> ids;
    try {
      // PostgreSQL's upsert is atomic; an H2 database shared by two JVMs (server mode) could still
      // see a key conflict, which the next attempt resolves as an update
      ids =
          db.run(
              "register",
              pipeline,
              true,
              db.dialect == Dialect.H2,
              h -> registerRows(h, pipeline, copy, stageNames));
    } finally {
      if (h2Lock != null) {
        h2Lock.unlock();
      }
    }
    pipelines.put(pipeline, new PipelineDef(copy, ids));
  }

  private Map<String, Long> registerRows(
      Handle h, String pipeline, List<StageDescriptor> copy, List<String> stageNames) {
    if (!copy.isEmpty()) {
      PreparedBatch upsert = h.prepareBatch(sql.register);
      for (int i = 0; i < copy.size(); i++) {
        StageDescriptor s = copy.get(i);
        PayloadCodec<?> output =
            i + 1 < copy.size() && !PipelineDef.isSink(s.name())
                ? copy.get(i + 1).inputCodec()
                : null;
        bindStage(upsert, pipeline, s, output).add();
      }
      upsert.execute();
    }
    h.createUpdate(sql.registerDelete)
        .bind("pipeline", pipeline)
        .bind("names", Args.texts(stageNames))
        .execute();
    Map<String, Long> found = new HashMap<>();
    h.createQuery(sql.registerIds)
        .bind("pipeline", pipeline)
        .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
        .forEach(e -> found.put(e.getKey(), e.getValue()));
    return found;
  }

  private static PreparedBatch bindStage(
      PreparedBatch statement,
      String pipeline,
      StageDescriptor s,
      @Nullable PayloadCodec<?> output) {
    return statement
        .bind("pipeline", pipeline)
        .bind("name", s.name())
        .bind("order", s.order())
        .bind("input", Args.text(s.inputCodec() == null ? null : cut(s.inputCodec().name(), 300)))
        .bind("output", Args.text(output == null ? null : cut(output.name(), 300)))
        .bind("function", cut(s.function(), 1000))
        .bind("timeout", Args.int64(s.timeoutSeconds()))
        .bind("retry", cut(s.retryPolicy(), 1000))
        .bind("max_retries", s.maxRetries())
        .bind("checkpoint", s.checkpoint());
  }
}
