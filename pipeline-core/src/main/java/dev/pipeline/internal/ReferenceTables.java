package dev.pipeline.internal;

import dev.pipeline.PipelineClock;
import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceLookup;
import dev.pipeline.StageName;
import dev.pipeline.metrics.ReferenceDataMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The reference data caches of one pipeline, or of one stage a test kit runs alone, and the stages
 * each may be looked up from. What {@code StageContext.reference} asks; not API.
 *
 * <p>Thread-safe: built whole, then only read.
 */
public final class ReferenceTables {
  /** How long {@link #close()} waits for the loads it interrupts. */
  public static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

  private static final String HOW_PIPELINE =
      "declare it with referenceData(...) on the pipeline's builder for every stage, or on this"
          + " stage's options with s.referenceData(...)";

  private static final ReferenceTables NONE =
      new ReferenceTables("the pipeline", List.of(), null, HOW_PIPELINE, null);

  private final String owner;
  private final String howToDeclare;
  // by identity: a declaration is its own key, whatever its name
  private final Map<ReferenceData<?, ?>, ReferenceCache<?, ?>> caches = new IdentityHashMap<>();
  private final List<ReferenceCache<?, ?>> ordered = new ArrayList<>();
  private final @Nullable BackgroundLoads loads;

  /**
   * One declaration and the stages that may look it up.
   *
   * @param data the declaration
   * @param stages the stages that may look it up, in pipeline order
   */
  public record Declared(ReferenceData<?, ?> data, List<StageName> stages) {
    /** Copies the list. */
    public Declared {
      Objects.requireNonNull(data, "data cannot be null");
      stages = List.copyOf(stages);
    }
  }

  private ReferenceTables(
      String owner,
      List<Declared> declared,
      @Nullable PipelineClock clock,
      String howToDeclare,
      @Nullable BackgroundLoads loads) {
    this.owner = owner;
    this.howToDeclare = howToDeclare;
    this.loads = loads;
    for (Declared d : declared) {
      ReferenceCache<?, ?> cache =
          loads == null
              ? create(d, owner, Objects.requireNonNull(clock), Runnable::run, () -> false)
              : create(d, owner, Objects.requireNonNull(clock), loads, loads::closing);
      caches.put(d.data(), cache);
      ordered.add(cache);
    }
  }

  private static <K, V> ReferenceCache<K, V> create(
      Declared declared,
      String owner,
      PipelineClock clock,
      Executor executor,
      BooleanSupplier closing) {
    @SuppressWarnings("unchecked") // captures the declaration's own key and value types
    ReferenceData<K, V> data = (ReferenceData<K, V>) declared.data();
    return new ReferenceCache<>(data, owner, declared.stages(), clock, executor, closing);
  }

  /** No reference data: every lookup fails, saying so. */
  public static ReferenceTables none() {
    return NONE;
  }

  /**
   * The caches of a pipeline: loads and refreshes run on virtual threads they own, which {@link
   * #close()} stops.
   *
   * @param pipeline the pipeline's name, for thread names, logs and errors
   */
  public static ReferenceTables forPipeline(
      String pipeline, List<Declared> declared, PipelineClock clock) {
    if (declared.isEmpty()) {
      return new ReferenceTables(
          "pipeline '" + pipeline + "'", List.of(), null, HOW_PIPELINE, null);
    }
    return new ReferenceTables(
        "pipeline '" + pipeline + "'",
        declared,
        clock,
        HOW_PIPELINE,
        new BackgroundLoads(pipeline));
  }

  /**
   * Caches whose loads and refreshes run on the thread that asks, for a single-threaded test of one
   * stage: a stale entry is refreshed before its lookup returns.
   *
   * @param owner who they belong to, for logs and errors ("the StageTester")
   * @param howToDeclare the fix an error gives for reference data not declared
   */
  public static ReferenceTables inline(
      String owner, List<Declared> declared, PipelineClock clock, String howToDeclare) {
    return new ReferenceTables(owner, declared, clock, howToDeclare, null);
  }

  /**
   * A stage's lookup in a declaration's cache.
   *
   * @throws NullPointerException if {@code data} is null
   * @throws IllegalArgumentException if the declaration is not one of these, or not for that stage
   */
  public <K, V> ReferenceLookup<K, V> lookup(ReferenceData<K, V> data, StageName stage) {
    Objects.requireNonNull(data, "data cannot be null");
    ReferenceCache<?, ?> found = caches.get(data);
    if (found == null) {
      throw new IllegalArgumentException(notDeclared(data, stage));
    }
    @SuppressWarnings("unchecked") // built from this very declaration, so its types are K and V
    ReferenceCache<K, V> cache = (ReferenceCache<K, V>) found;
    ReferenceLookup<K, V> lookup = cache.lookup(stage);
    if (lookup == null) {
      throw new IllegalArgumentException(
          "stage '"
              + stage
              + "' looked up reference data '"
              + data.name()
              + "', which "
              + owner
              + " declares for stages "
              + cache.stages()
              + " only; declare it on this stage's options too (s.referenceData(...)), or once"
              + " for every stage on the pipeline's builder");
    }
    return lookup;
  }

  private String notDeclared(ReferenceData<?, ?> data, StageName stage) {
    for (ReferenceCache<?, ?> cache : ordered) {
      if (cache.data().name().equals(data.name())) {
        return "stage '"
            + stage
            + "' looked up a reference data declaration named '"
            + data.name()
            + "' that "
            + owner
            + " does not declare: it declares another one of that name; look up the declaration"
            + " it was given (keep it in one static final field)";
      }
    }
    return "stage '"
        + stage
        + "' looked up reference data '"
        + data.name()
        + "', which "
        + owner
        + " does not declare; "
        + howToDeclare;
  }

  /** Whether there is no reference data. */
  public boolean isEmpty() {
    return ordered.isEmpty();
  }

  /** A snapshot of each cache, in the order declared. */
  public List<ReferenceDataMetrics> snapshot() {
    List<ReferenceDataMetrics> all = new ArrayList<>(ordered.size());
    for (ReferenceCache<?, ?> cache : ordered) {
      all.add(cache.snapshot());
    }
    return List.copyOf(all);
  }

  /**
   * Stops the loads and refreshes running in the background (waiting at most {@link #CLOSE_WAIT}
   * for them); the caches keep their values, and load on new threads if asked again.
   */
  public void close() {
    if (loads != null) {
      loads.close(CLOSE_WAIT);
    }
  }

  /** Loads and refreshes running in the background now. */
  public int running() {
    return loads == null ? 0 : loads.running();
  }
}
