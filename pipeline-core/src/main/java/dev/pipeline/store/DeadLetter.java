package dev.pipeline.store;

import dev.pipeline.Envelope;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A record that failed for good, as the dead letter queue keeps it.
 *
 * <p><b>Which payload.</b> {@code record().payload()} is the input of stage {@link
 * #payloadStage()}: of the type that stage takes. The rule is the same on every store:
 *
 * <ul>
 *   <li>it is the input of the failing stage ({@code payloadStage().equals(stage())}) whenever the
 *       store can keep that input. The in-memory store always can. A durable store can when the
 *       failing stage's input has a codec: the codec of the stage before it ({@code s.codec(...)}),
 *       the pipeline's {@code inputCodec(...)} for the first stage, the last stage's codec for the
 *       sink (stage {@code "sink"});
 *   <li>otherwise (a durable store, no codec for that input, or one that could not encode it) it is
 *       the record as the store last saved it: the input of the stage of its last checkpoint, or
 *       the record as ingested ({@code payloadStage()} is then the first stage);
 *   <li>a payload a durable store cannot read back (damaged, or read through a store that does not
 *       know the pipeline's codecs, i.e. on which the pipeline was not built) is its stored bytes,
 *       a {@code byte[]}.
 * </ul>
 *
 * <p>So a pipeline whose stages all have codecs gets the same dead letters, with payloads of the
 * same types, from every store. Code that reads dead letters can ask for the type it expects with
 * {@link #payload(Class)}, which says what it holds instead when it does not match, or branch on
 * {@link #payloadStage()}.
 *
 * @param record the record (id, payload, metadata) as it entered {@link #payloadStage()}
 * @param stage the failing stage
 * @param errors every error the record met, oldest first; the last is the final one
 * @param attempts attempts made at the failing stage
 * @param deadLetteredAt when it was dead-lettered
 * @param payloadStage the stage whose input the record's payload is: {@code stage}, or an earlier
 *     one (see above)
 */
public record DeadLetter(
    Envelope<?> record,
    String stage,
    List<ErrorInfo> errors,
    int attempts,
    Instant deadLetteredAt,
    String payloadStage) {

  /**
   * Checks the components and copies the error list.
   *
   * @throws NullPointerException if a component is null
   */
  public DeadLetter {
    Objects.requireNonNull(record, "record cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(deadLetteredAt, "deadLetteredAt cannot be null");
    Objects.requireNonNull(payloadStage, "payloadStage cannot be null");
    errors = List.copyOf(errors);
  }

  /**
   * A dead letter whose payload is the failing stage's input.
   *
   * @throws NullPointerException if a component is null
   */
  public DeadLetter(
      Envelope<?> record, String stage, List<ErrorInfo> errors, int attempts, Instant at) {
    this(record, stage, errors, attempts, at, stage);
  }

  /** The record's id. */
  public String recordId() {
    return record.id();
  }

  /**
   * The id of the record this one was split from (its metadata {@link Envelope#PARENT_ID}), or null
   * if it came from a source.
   */
  public @Nullable String parentId() {
    return record.metadata().get(Envelope.PARENT_ID);
  }

  /** The final error. */
  public ErrorInfo lastError() {
    return errors.get(errors.size() - 1);
  }

  /**
   * The payload as {@code type}: the input of {@link #payloadStage()}.
   *
   * @throws ClassCastException if the payload is not a {@code type}; the message says which stage's
   *     input it holds, of what type, and how to keep the failing stage's input instead
   */
  public <T> T payload(Class<T> type) {
    Objects.requireNonNull(type, "type cannot be null");
    Object payload = record.payload();
    if (type.isInstance(payload)) {
      return type.cast(payload);
    }
    String held = payload == null ? "null" : payload.getClass().getTypeName();
    String why = "";
    if (!payloadStage.equals(stage)) {
      why =
          "; it failed at stage '"
              + stage
              + "', whose input the durable store could not keep: give that input a codec"
              + " (s.codec(...) on the stage before it) to keep it";
    }
    if (payload instanceof byte[]) {
      why +=
          "; unless that stage takes bytes, they are the stored bytes of a payload the store"
              + " could not read back (damaged, or read through a store on which the pipeline was"
              + " not built)";
    }
    throw new ClassCastException(
        "the dead letter of record '"
            + record.id()
            + "' holds the input of stage '"
            + payloadStage
            + "', a "
            + held
            + ", not a "
            + type.getTypeName()
            + why);
  }
}
