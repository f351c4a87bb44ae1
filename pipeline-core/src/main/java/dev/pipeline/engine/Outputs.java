package dev.pipeline.engine;

import dev.pipeline.StageException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** What a stage's call must return: the checks of the one call path. */
public final class Outputs {
  private Outputs() {}

  /** A single-record stage returns a value (null is an error: it filters by throwing). */
  public static <R> Invoker.Check<R> single(String stage) {
    return (value, records, recordId) ->
        value != null
            ? null
            : new StageException(
                stage,
                recordId,
                "stage '"
                    + stage
                    + "' returned null for record '"
                    + recordId
                    + "'; return a value, or throw RecordFilteredException.because(reason) to"
                    + " drop the record");
  }

  /**
   * A single-record stage returns a value that has its declared shape, if {@code shape} checks any
   * (see {@link OutputShape}).
   */
  public static <R> Invoker.Check<R> single(String stage, @Nullable OutputShape shape) {
    Invoker.Check<R> present = single(stage);
    if (shape == null) {
      return present;
    }
    return (value, records, recordId) -> {
      Throwable error = present.check(value, records, recordId);
      return error != null ? error : shape.test(value, String.valueOf(recordId));
    };
  }

  /** A batch stage returns one output per input, in order. */
  public static <R extends List<?>> Invoker.Check<R> batch(String stage) {
    return (outputs, records, firstRecordId) ->
        outputs != null && outputs.size() == records
            ? null
            : new StageException(
                stage,
                null,
                "batch stage '"
                    + stage
                    + "' returned "
                    + (outputs == null ? "null" : outputs.size() + " outputs")
                    + " for "
                    + records
                    + " inputs (first record '"
                    + firstRecordId
                    + "'); return one output per input, in order");
  }

  /**
   * An output of a batch stage that is null without the context filtering or failing its record.
   */
  public static StageException nullInBatch(String stage, String recordId) {
    return new StageException(
        stage,
        recordId,
        "batch stage '"
            + stage
            + "' returned null for record '"
            + recordId
            + "' without filtering or failing it through the context");
  }

  /**
   * The error of one output of a batch stage that neither filtered nor failed its record: null
   * without the context saying so, or lacking its declared shape; null if it has none.
   */
  public static @Nullable StageException inBatch(
      String stage, String recordId, @Nullable Object output, @Nullable OutputShape shape) {
    if (output == null) {
      return nullInBatch(stage, recordId);
    }
    return shape == null ? null : shape.test(output, recordId);
  }

  /**
   * A split stage's splitter (called alone, by the test kit) returns a list of children, each of
   * which has its declared shape if {@code shape} checks any.
   */
  public static <R> Invoker.Check<R> children(String stage, @Nullable OutputShape shape) {
    Invoker.Check<R> present = single(stage);
    if (shape == null) {
      return present;
    }
    return (value, records, recordId) -> {
      Throwable error = present.check(value, records, recordId);
      return error != null || !(value instanceof List<?> all)
          ? error
          : shape.testChildren(all, String.valueOf(recordId));
    };
  }

  /** Any call that needs no check (the sink: what it returns is its input). */
  public static <R> Invoker.Check<R> none() {
    return (value, records, firstRecordId) -> null;
  }
}
