package dev.pipeline.store.spi;

import dev.pipeline.store.PayloadCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The pipelines live on one store object, for its {@link RecordLedger#register} and {@link
 * RecordLedger#unregister}: a name is held by the pipelines built on the store with it until each
 * is closed, and while it is held, only a pipeline with the same stages may take it too.
 *
 * <p>"The same stages" means the same stage names in the same order, each with the same input codec
 * (by {@link PayloadCodec#name()}): what decides how the store reads the records it keeps. Options
 * such as retries, timeouts or concurrency may differ (a rerun, or a second worker configured
 * differently); the stage functions are not compared, since a lambda's class differs between
 * processes.
 *
 * <p>Thread-safe.
 */
public final class Registrations {
  private final Map<String, Held> held = new ConcurrentHashMap<>();

  /** The stages a name is held with, and by how many live pipelines. */
  private record Held(List<StageDescriptor> stages, int pipelines) {}

  /** An empty set of registrations. */
  public Registrations() {}

  /**
   * Holds {@code pipeline} for one more live pipeline with these stages.
   *
   * @param store the store, as its message names it
   * @throws IllegalStateException if the name is held with different stages; the message names both
   *     definitions, where they differ, and the fix
   */
  public void hold(String store, String pipeline, List<StageDescriptor> stages) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    List<StageDescriptor> copy = List.copyOf(stages);
    held.compute(
        pipeline,
        (name, before) -> {
          if (before == null) {
            return new Held(copy, 1);
          }
          String difference = difference(before.stages(), copy);
          if (difference != null) {
            throw new IllegalStateException(
                "pipeline '"
                    + name
                    + "' is already built on "
                    + store
                    + " with stages "
                    + describe(before.stages())
                    + "; this one has "
                    + describe(copy)
                    + " ("
                    + difference
                    + "). Records of one would be read with the other's codecs: give this"
                    + " pipeline another name, or close the other one first (Pipeline.close()"
                    + " gives its name back)");
          }
          return new Held(before.stages(), before.pipelines() + 1);
        });
  }

  /** Gives back one live pipeline's hold on {@code pipeline}; the last one frees the name. */
  public void release(String pipeline) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    held.computeIfPresent(
        pipeline,
        (name, before) ->
            before.pipelines() == 1 ? null : new Held(before.stages(), before.pipelines() - 1));
  }

  /** Where two definitions differ, for people; null if they are the same. */
  private static @Nullable String difference(
      List<StageDescriptor> there, List<StageDescriptor> here) {
    for (int i = 0; i < Math.min(there.size(), here.size()); i++) {
      StageDescriptor a = there.get(i);
      StageDescriptor b = here.get(i);
      if (!a.name().equals(b.name())) {
        return "stage #" + (i + 1) + " is '" + a.name() + "' there, '" + b.name() + "' here";
      }
      if (!Objects.equals(codec(a), codec(b))) {
        return "stage '"
            + a.name()
            + "' reads its input with codec "
            + codec(a)
            + " there, "
            + codec(b)
            + " here";
      }
    }
    if (there.size() != here.size()) {
      return there.size() + " stages there, " + here.size() + " here";
    }
    return null;
  }

  private static String describe(List<StageDescriptor> stages) {
    List<String> all = new ArrayList<>(stages.size());
    for (StageDescriptor s : stages) {
      all.add(s.name() + " (input codec " + codec(s) + ")");
    }
    return all.toString();
  }

  private static String codec(StageDescriptor stage) {
    PayloadCodec<?> codec = stage.inputCodec();
    return codec == null ? "none" : codec.name();
  }

  @Override
  public String toString() {
    return "Registrations" + held.keySet();
  }
}
