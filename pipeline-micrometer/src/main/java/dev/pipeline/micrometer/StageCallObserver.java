package dev.pipeline.micrometer;

import dev.pipeline.StageCallListener;
import dev.pipeline.internal.ErrorText;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Times every stage and sink call of a pipeline, counts its records and errors, and opens an {@link
 * Observation} around it, so that users of tracing get a span per call with the stage's own spans
 * (an HTTP client's, a JDBC driver's) as its children. Set it on the builder:
 *
 * <pre>{@code
 * StageCallObserver observer = StageCallObserver.create(meterRegistry, observationRegistry);
 * Pipeline<Listing, Listing> pipeline =
 *     Pipeline.builder("listings", Listing.class)
 *         .stage(CLEANING, cleaner)
 *         .callListener(observer)
 *         .build();
 * }</pre>
 *
 * <p>Meters, each tagged {@code pipeline} and {@code stage} ({@code sink} for the sink):
 *
 * <ul>
 *   <li>{@value #DURATION} (timer), tagged {@code outcome}: {@code passed}, {@code filtered},
 *       {@code failed} or {@code cancelled}; one sample per call (a batch call is one sample),
 *       timed on the pipeline's clock;
 *   <li>{@value #RECORDS} (counter), tagged {@code outcome}: the records the calls carried, by the
 *       call's outcome, so a record that fails twice and then passes counts twice as {@code failed}
 *       and once as {@code passed} (the dead letters themselves are {@link PipelineMeterBinder}'s
 *       {@code pipeline.dead_letters});
 *   <li>{@value #ERRORS} (counter), tagged {@code error}: the failed calls by the error's simple
 *       class name, at most {@value #MAX_ERROR_TYPES} names per stage, the others counted as {@code
 *       other}.
 * </ul>
 *
 * <p>No meter is tagged with a record id or any other text from the records, so the number of time
 * series is bounded by the stages, outcomes and error types. The observation, named {@value
 * #OBSERVATION} with the stage's name as its contextual name, has the low-cardinality keys {@code
 * pipeline}, {@code stage} and {@code outcome}, and the high-cardinality keys (spans only) {@code
 * pipeline.record.id} (the call's first record, cut to {@value #MAX_RECORD_ID_CHARS} characters and
 * escaped) and {@code pipeline.records}. A failed call's error is an {@link ObservedError}: the
 * thrown exception's class name and its message bounded, with secrets masked. Its context is a
 * {@link StageCallContext}. With a registry that has no handlers ({@link
 * ObservationRegistry#NOOP}), no observation is made.
 *
 * <p>Thread-safe: a pipeline's workers call it at once, and one observer may serve several
 * pipelines.
 */
public final class StageCallObserver implements StageCallListener {
  /** The timer of stage calls. */
  public static final String DURATION = "pipeline.stage.duration";

  /** The counter of records by their call's outcome. */
  public static final String RECORDS = "pipeline.records";

  /** The counter of failed calls by error type. */
  public static final String ERRORS = "pipeline.stage.errors";

  /** The name of the observation made around each call. */
  public static final String OBSERVATION = "pipeline.stage.call";

  /** Error type names kept per stage; beyond them errors are counted as {@code other}. */
  public static final int MAX_ERROR_TYPES = 32;

  /** A record id's characters kept in a span. */
  public static final int MAX_RECORD_ID_CHARS = 256;

  private static final Outcome[] OUTCOMES = Outcome.values();

  private final MeterRegistry meters;
  private final ObservationRegistry observations;
  // pipeline -> stage -> its meters; names come from code, so the maps stay small
  private final Map<String, Map<String, StageMeters>> byStage = new ConcurrentHashMap<>();

  private StageCallObserver(MeterRegistry meters, ObservationRegistry observations) {
    this.meters = Objects.requireNonNull(meters, "meters cannot be null");
    this.observations = Objects.requireNonNull(observations, "observations cannot be null");
  }

  /**
   * An observer that records meters in {@code meters} and makes no observations.
   *
   * @throws NullPointerException if {@code meters} is null
   */
  public static StageCallObserver create(MeterRegistry meters) {
    return new StageCallObserver(meters, ObservationRegistry.NOOP);
  }

  /**
   * An observer that records meters in {@code meters} and an observation per call in {@code
   * observations}.
   *
   * @throws NullPointerException if a registry is null
   */
  public static StageCallObserver create(MeterRegistry meters, ObservationRegistry observations) {
    return new StageCallObserver(meters, observations);
  }

  @Override
  public @Nullable Object callStarted(Call call) {
    if (observations.isNoop()) {
      return null;
    }
    StageCallContext context = new StageCallContext(call);
    Observation observation =
        Observation.createNotStarted(OBSERVATION, () -> context, observations)
            .contextualName(call.stage())
            .lowCardinalityKeyValue("pipeline", call.pipeline())
            .lowCardinalityKeyValue("stage", call.stage())
            .highCardinalityKeyValue("pipeline.records", Integer.toString(call.records()));
    String id = call.firstRecordId();
    if (id != null) {
      observation.highCardinalityKeyValue(
          "pipeline.record.id", ErrorText.escape(ErrorText.cut(id, MAX_RECORD_ID_CHARS)));
    }
    observation.start();
    return new Open(observation, context, observation.openScope());
  }

  @Override
  public void callEnded(
      Call call, @Nullable Object started, Outcome outcome, long nanos, @Nullable Throwable error) {
    StageMeters stage = meters(call);
    stage.durations[outcome.ordinal()].record(Math.max(0, nanos), TimeUnit.NANOSECONDS);
    stage.records[outcome.ordinal()].increment(call.records());
    if (outcome == Outcome.FAILED && error != null) {
      stage.error(error).increment();
    }
    if (started instanceof Open open) {
      open.scope.close();
      open.context.outcome(outcome);
      open.observation.lowCardinalityKeyValue("outcome", tag(outcome));
      if (error != null) {
        // never the exception itself: its message is unbounded and may carry secrets
        open.observation.error(ObservedError.of(error));
      }
      open.observation.stop();
    }
  }

  private StageMeters meters(Call call) {
    Map<String, StageMeters> stages =
        byStage.computeIfAbsent(call.pipeline(), p -> new ConcurrentHashMap<>());
    StageMeters found = stages.get(call.stage());
    return found != null
        ? found
        : stages.computeIfAbsent(call.stage(), s -> new StageMeters(call.pipeline(), s));
  }

  static String tag(Outcome outcome) {
    return outcome.name().toLowerCase(Locale.ROOT);
  }

  /** An observation under way, and its scope on the calling thread. */
  private record Open(Observation observation, StageCallContext context, Observation.Scope scope) {}

  /** One stage's meters, registered at its first call. */
  private final class StageMeters {
    final Tags tags;
    final Timer[] durations = new Timer[OUTCOMES.length];
    final Counter[] records = new Counter[OUTCOMES.length];
    final Map<String, Counter> errors = new ConcurrentHashMap<>();

    StageMeters(String pipeline, String stage) {
      this.tags = Tags.of("pipeline", pipeline, "stage", stage);
      for (Outcome outcome : OUTCOMES) {
        Tags tagged = tags.and("outcome", tag(outcome));
        durations[outcome.ordinal()] =
            Timer.builder(DURATION)
                .description("Time of one call of a stage (a batch call is one sample)")
                .tags(tagged)
                .register(meters);
        records[outcome.ordinal()] =
            Counter.builder(RECORDS)
                .description("Records carried by a stage's calls, by the call's outcome")
                .baseUnit("records")
                .tags(tagged)
                .register(meters);
      }
    }

    Counter error(Throwable error) {
      String type = error.getClass().getSimpleName();
      if (type.isEmpty()) {
        type = error.getClass().getName();
      }
      Counter counter = errors.get(type);
      if (counter != null) {
        return counter;
      }
      String kept = errors.size() >= MAX_ERROR_TYPES ? "other" : type;
      return errors.computeIfAbsent(
          kept,
          t ->
              Counter.builder(ERRORS)
                  .description("Failed calls of a stage by error type")
                  .tags(tags.and("error", t))
                  .register(meters));
    }
  }
}
