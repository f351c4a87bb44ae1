package dev.pipeline.source;

import dev.pipeline.Envelope;
import dev.pipeline.internal.ErrorText;
import java.io.IOException;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Records of another reader turned into the user's type by their function. A record the function
 * rejects (it throws or returns null) stays a record, marked {@link Envelope#SOURCE_ERROR} with the
 * function's message; its payload, and that of a record the other reader could not read, is what
 * the user's {@code unreadable} function makes of the raw one.
 */
final class MappedReader<S, T> implements RecordReader<T> {
  /** The most characters of the function's message kept in a record's error. */
  static final int MESSAGE_CHARS = 1_000;

  private static final ErrorText MESSAGES = ErrorText.of(MESSAGE_CHARS, ErrorText.MIN_CHARS);

  private final RecordReader<S> raw;
  private final RecordParser<? super S, ? extends T> parser;
  private final Function<? super S, ? extends T> unreadable;
  private final String role;

  /**
   * @param role what the function is called in errors: "parser", "mapper"
   */
  MappedReader(
      RecordReader<S> raw,
      RecordParser<? super S, ? extends T> parser,
      Function<? super S, ? extends T> unreadable,
      String role) {
    this.raw = raw;
    this.parser = parser;
    this.unreadable = unreadable;
    this.role = role;
  }

  @Override
  public String kind() {
    return raw.kind();
  }

  @Override
  public void begin(ByteInput in, Start start) throws IOException {
    raw.begin(in, start);
  }

  @Override
  public String position() {
    return raw.position();
  }

  @Override
  public String where() {
    return raw.where();
  }

  @Override
  public long recordOffset() {
    return raw.recordOffset();
  }

  @Override
  public @Nullable Envelope<T> read() throws Exception {
    Envelope<S> record = raw.read();
    if (record == null) {
      return null;
    }
    if (record.metadata().containsKey(Envelope.SOURCE_ERROR)) {
      return record.withPayload(fallback(record));
    }
    String why;
    try {
      T parsed = parser.parse(record.payload());
      if (parsed != null) {
        return record.withPayload(parsed);
      }
      why = "was rejected by its " + role + ": it returned null";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw e;
    } catch (Exception | StackOverflowError e) {
      // a stack overflow is what a hostile, deeply nested record does to a recursive parser
      why = "was rejected by its " + role + ": " + describe(e);
    }
    return record
        .withPayload(fallback(record))
        .withMetadata(
            Envelope.SOURCE_ERROR,
            raw.where() + " " + why + "; it starts at byte " + raw.recordOffset());
  }

  /**
   * The exception on one line, its message cut to {@value #MESSAGE_CHARS} characters, and cut again
   * if escaping its control characters made it much longer.
   */
  static String describe(Throwable e) {
    return ErrorText.cut(MESSAGES.describe(e), 2 * MESSAGE_CHARS);
  }

  private T fallback(Envelope<S> record) {
    T payload = unreadable.apply(record.payload());
    if (payload == null) {
      throw new NullPointerException(
          "the unreadable function of source '"
              + record.sourceId()
              + "' returned null for record '"
              + record.id()
              + "': it must make a payload of every record it is given");
    }
    return payload;
  }
}
