package dev.pipeline;

import dev.pipeline.engine.run.ApiAccess;
import dev.pipeline.metrics.RouteMetrics;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The engine's access to package-private members of this package's classes, installed by {@link
 * Pipeline}'s static initializer: the engine lives in a package of its own, and these members are
 * not API.
 */
final class EngineAccess extends ApiAccess {
  @Override
  public <T> Envelope<T> withId(Envelope<T> record, String id) {
    return record.withId(id);
  }

  @Override
  public <T> Envelope<T> withoutMetadata(Envelope<T> record, String key) {
    return record.withoutMetadata(key);
  }

  @Override
  public <T> Envelope<T> withAllMetadata(Envelope<T> record, Map<String, String> extra) {
    return record.withAllMetadata(extra);
  }

  @Override
  public <T> Envelope<T> withMetadataOf(Envelope<T> record, Envelope<?> from) {
    return record.withMetadataOf(from);
  }

  @Override
  public StageName sinkStep(Route<?, ?> route, StageName stage, int arm) {
    return route.sinkStep(stage, arm);
  }

  @Override
  public boolean hasSinks(Route<?, ?> route) {
    return route.hasSinks();
  }

  @Override
  public List<RouteBranch<?, ?>> branches(Route<?, ?> route) {
    return route.branches();
  }

  @Override
  public @Nullable Sink<Object> sinkOf(Route<?, ?> route, int arm) {
    return route.sinkOf(arm);
  }

  @Override
  public StageOptions sinkOptionsOf(Route<?, ?> route, int arm) {
    return route.sinkOptionsOf(arm);
  }

  @Override
  public RouteMetrics metrics(Route<?, ?> route, StageName stage) {
    return route.metrics(stage);
  }
}
