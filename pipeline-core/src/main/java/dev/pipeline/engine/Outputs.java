package dev.pipeline.engine;

import dev.pipeline.StageException;
import java.util.List;

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

  /** Any call that needs no check (the sink: what it returns is its input). */
  public static <R> Invoker.Check<R> none() {
    return (value, records, firstRecordId) -> null;
  }
}
