package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.Route;
import dev.pipeline.RouteBranch;
import dev.pipeline.Sink;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.metrics.RouteMetrics;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the run calls on the API's classes that their users cannot: the package-private members of
 * {@link Envelope} and {@link Route}, in the way of the JDK's {@code SharedSecrets}. {@link
 * Pipeline}'s static initializer installs the one implementation, which lives beside those classes;
 * the run asks for it with {@link #api()}.
 */
public abstract class ApiAccess {
  private static volatile @Nullable ApiAccess installed;

  /** For the implementation only. */
  protected ApiAccess() {}

  /**
   * Installs the implementation; once.
   *
   * @throws IllegalStateException if one is installed already
   */
  public static void install(ApiAccess access) {
    if (installed != null) {
      throw new IllegalStateException("the API's access is installed already");
    }
    installed = access;
  }

  /** The implementation, {@link Pipeline}'s class initialized first if nothing installed it yet. */
  static ApiAccess api() {
    ApiAccess access = installed;
    if (access == null) {
      try {
        Class.forName(Pipeline.class.getName(), true, Pipeline.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(e);
      }
      access = Objects.requireNonNull(installed, "Pipeline installs the API's access");
    }
    return access;
  }

  /** {@code record} under another id, with the same payload and metadata. */
  public abstract <T> Envelope<T> withId(Envelope<T> record, String id);

  /** {@code record} without the metadata entry of {@code key} (the same if it has none). */
  public abstract <T> Envelope<T> withoutMetadata(Envelope<T> record, String key);

  /** {@code record} with {@code extra} added to its metadata. */
  public abstract <T> Envelope<T> withAllMetadata(Envelope<T> record, Map<String, String> extra);

  /**
   * {@code record} with the metadata of {@code from} in place of its own (the same map, not a copy:
   * envelopes' maps are unmodifiable).
   */
  public abstract <T> Envelope<T> withMetadataOf(Envelope<T> record, Envelope<?> from);

  /**
   * The name of the pseudo-stage of the sink of branch {@code arm} of the route stage {@code
   * stage}.
   */
  public abstract StageName sinkStep(Route<?, ?> route, StageName stage, int arm);

  /** Whether a branch of {@code route} ends at a sink. */
  public abstract boolean hasSinks(Route<?, ?> route);

  /** The branches of {@code route}, in the order their predicates are tried. */
  public abstract List<RouteBranch<?, ?>> branches(Route<?, ?> route);

  /** The sink of branch {@code arm} of {@code route}, or null if the branch joins. */
  public abstract @Nullable Sink<Object> sinkOf(Route<?, ?> route, int arm);

  /** The options of the sink of branch {@code arm} of {@code route}. */
  public abstract StageOptions sinkOptionsOf(Route<?, ?> route, int arm);

  /** The branch counts of {@code route}, for the route stage {@code stage}. */
  public abstract RouteMetrics metrics(Route<?, ?> route, StageName stage);
}
