package dev.pipeline.resilience;

import dev.pipeline.StageContext;
import java.util.Objects;

/**
 * What a stage does with a record it cannot process: its circuit is open, or the record used up its
 * retries. Without a fallback the record waits for the circuit with backoff (as a retry) and goes
 * to the dead letter queue once its retries are used up.
 *
 * <ul>
 *   <li>{@link #skip()}: the record goes on unchanged, marked degraded (metadata {@value #DEGRADED}
 *       names the stages it skipped). For optional stages whose output type is their input type.
 *   <li>{@link #to(Function) to(fn)}: the function makes the stage's output from the input and the
 *       error; the record is marked degraded too.
 *   <li>{@link #hold()}: while the circuit is open, records wait in the store's retry queue without
 *       consuming retries, until the circuit lets calls through again; the stage's workers go on
 *       taking records meanwhile, so nothing upstream blocks. Records that use up their retries
 *       still go to the dead letter queue.
 * </ul>
 *
 * @param <I> the stage's input type
 * @param <O> the stage's output type
 */
public sealed interface Fallback<I, O> {
  /** The metadata key listing, comma-separated, the stages a degraded record skipped. */
  String DEGRADED = "pipeline.degraded";

  /** A function making a stage's output from its input when the stage cannot process it. */
  @FunctionalInterface
  interface Function<I, O> {
    /**
     * Makes the output.
     *
     * @param input the record's payload as it entered the stage
     * @param cause why the stage could not process it (the last error, or the refusal of an open
     *     circuit)
     * @param context the record's context
     * @throws Exception to send the record to the dead letter queue after all
     */
    O apply(I input, Throwable cause, StageContext context) throws Exception;
  }

  /** Lets records pass the stage unchanged, marked degraded. */
  @SuppressWarnings("unchecked")
  static <T> Fallback<T, T> skip() {
    return (Fallback<T, T>) Skip.INSTANCE;
  }

  /** Makes the output with a function, marking the record degraded. */
  static <I, O> Fallback<I, O> to(Function<? super I, ? extends O> function) {
    Objects.requireNonNull(function, "function cannot be null");
    return new With<>(function);
  }

  /** Parks records while the circuit is open, consuming no retries. */
  @SuppressWarnings("unchecked")
  static <I, O> Fallback<I, O> hold() {
    return (Fallback<I, O>) Hold.INSTANCE;
  }

  /** The skip fallback. */
  enum Skip implements Fallback<Object, Object> {
    /** The one instance. */
    INSTANCE;

    @Override
    public String toString() {
      return "Fallback.skip()";
    }
  }

  /** The hold fallback. */
  enum Hold implements Fallback<Object, Object> {
    /** The one instance. */
    INSTANCE;

    @Override
    public String toString() {
      return "Fallback.hold()";
    }
  }

  /**
   * The function fallback.
   *
   * @param function the function
   */
  record With<I, O>(Function<? super I, ? extends O> function) implements Fallback<I, O> {
    /** Checks the function. */
    public With {
      Objects.requireNonNull(function, "function cannot be null");
    }

    @Override
    public String toString() {
      return "Fallback.to(" + function + ")";
    }
  }
}
