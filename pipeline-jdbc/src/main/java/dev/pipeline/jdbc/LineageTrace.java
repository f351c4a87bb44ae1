package dev.pipeline.jdbc;

import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import dev.pipeline.store.StorableText;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The packed forms of a record's lineage events in a row of {@code record_traces}, one line per
 * event in the order the events happened, the row's {@code packing} column saying which form. The
 * record's id, source id and parent id are columns of the row, not fields; in text, a backslash,
 * tab, newline and carriage return are written {@code \\}, {@code \t}, {@code \n}, {@code \r}.
 *
 * <ul>
 *   <li><b>Packing 1</b> (schema versions 12 and 13, read only): twelve tab-separated fields:
 *       stage, outcome, entered and left (microseconds since 1970 at UTC), attempts, input hash,
 *       output hash (signed decimal), children, branch, verdicts, detail, source position; a
 *       missing value is {@code \N}.
 *   <li><b>Packing 2</b> (written since version 14), about a third as long: the same twelve fields
 *       separated by {@code |} (in text written {@code \p}), trailing empty fields left out: stage;
 *       outcome as one letter ({@link #letter}); entered and left as microseconds after the row's
 *       {@code first_at}; attempts, empty for 1; input hash in hexadecimal (the 64 bits unsigned),
 *       empty when it is the previous line's output hash; output hash in hexadecimal, empty for
 *       none; children, empty for 0; branch, verdicts, detail, position, empty for none, {@code \e}
 *       for empty text.
 *   <li><b>Packing 3</b> (written since version 17): the events of several records, those that
 *       passed the sink (or the last stage, without a sink) from the row's batch ({@code
 *       batch_id}), a record's lines after a line of its own: {@code =} then the record's id,
 *       source id and parent id, separated by {@code |} (empty for none, {@code \e} for empty
 *       text); then its events' lines in packing 2, their times counted from the row's {@code
 *       first_at}, the first line of each record with its input hash. A record's line starts with
 *       {@code =}, an event's line with its stage's name, which starts with a letter. The row's
 *       {@code record_id}, {@code source_id} and {@code parent_id} are null.
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
final class LineageTrace {
  /** The packing this version writes (the row's {@code packing} column). */
  static final int PACKING = 2;

  /** The packing of a batch's row (the records that passed the sink from one batch). */
  static final int BATCH_PACKING = 3;

  private static final String NONE = "\\N";
  private static final String EMPTY_TEXT = "\\e";
  private static final int FIELDS = 12;

  private LineageTrace() {}

  /**
   * The most characters an event's line takes besides its text fields (stage, branch, verdicts,
   * detail, position): outcome, times, numbers, separators and the newline.
   */
  private static final int FIXED_CHARS = 130;

  /**
   * Writes the events' lines in packing 2, one per event, a newline between two: straight into
   * COPY's data on PostgreSQL ({@link BulkAppend.Parts}), which escapes each part as it comes.
   *
   * @param firstMicros the row's {@code first_at} in microseconds since 1970, at or before every
   *     event's entered time
   */
  static void pack(BulkAppend.TextOut out, List<LineageEvent> events, long firstMicros) {
    @Nullable Long previousOutput = null;
    for (int i = 0; i < events.size(); i++) {
      if (i > 0) {
        out.append('\n');
      }
      LineageEvent e = events.get(i);
      pack(out, e, firstMicros, previousOutput);
      previousOutput = e.outputHash();
    }
  }

  private static void pack(
      BulkAppend.TextOut out, LineageEvent e, long firstMicros, @Nullable Long previousOutput) {
    text(out, e.stage()).append('|').append(letter(e.outcome())).append('|');
    out.append(micros(e.enteredAt()) - firstMicros).append('|');
    out.append(micros(e.leftAt()) - firstMicros);
    // the fields after left, each written after the separators of the empty ones before it
    int pending = 0;
    if (e.attempts() != 1) {
      out.append('|').append(e.attempts());
    } else {
      pending++;
    }
    if (previousOutput == null || previousOutput != e.inputHash()) {
      separators(out, pending + 1);
      pending = 0;
      out.hex(e.inputHash());
    } else {
      pending++;
    }
    Long output = e.outputHash();
    if (output != null) {
      separators(out, pending + 1);
      pending = 0;
      out.hex(output);
    } else {
      pending++;
    }
    if (e.children() != 0) {
      separators(out, pending + 1);
      pending = 0;
      out.append(e.children());
    } else {
      pending++;
    }
    pending = optional(out, e.branch(), pending);
    pending = optional(out, e.verdicts(), pending);
    pending = optional(out, e.detail(), pending);
    optional(out, e.position(), pending);
  }

  /**
   * Writes a text field after the separators of the empty fields before it, or counts it empty.
   *
   * @return the empty fields not yet written
   */
  private static int optional(BulkAppend.TextOut out, @Nullable String text, int pending) {
    if (text == null) {
      return pending + 1;
    }
    separators(out, pending + 1);
    if (text.isEmpty()) {
      out.append(EMPTY_TEXT, 0, EMPTY_TEXT.length());
    } else {
      text(out, text);
    }
    return 0;
  }

  private static void separators(BulkAppend.TextOut out, int n) {
    for (int i = 0; i < n; i++) {
      out.append('|');
    }
  }

  /** An outcome's letter in packing 2; the view {@code record_lineage_events} maps them back. */
  static char letter(LineageOutcome outcome) {
    return switch (outcome) {
      case PASSED -> 'P';
      case FILTERED -> 'F';
      case DEAD_LETTER -> 'D';
      case SPLIT -> 'S';
      case MERGED -> 'M';
      case RETRY_SCHEDULED -> 'R';
      case DEGRADED -> 'G';
    };
  }

  private static LineageOutcome outcome(String letter) {
    if (letter.length() == 1) {
      for (LineageOutcome o : LineageOutcome.values()) {
        if (letter(o) == letter.charAt(0)) {
          return o;
        }
      }
    }
    throw new IllegalArgumentException("a lineage line has an unknown outcome '" + letter + "'");
  }

  /**
   * Writes a record's line of packing 3: {@code =}, its id, source id and parent id (each as the
   * record's row would hold it in its column), escaped as text fields are.
   */
  static void header(
      BulkAppend.TextOut out,
      String recordId,
      @Nullable String sourceId,
      @Nullable String parentId) {
    text(out.append('='), recordId);
    headerField(out.append('|'), sourceId);
    headerField(out.append('|'), parentId);
  }

  private static void headerField(BulkAppend.TextOut out, @Nullable String value) {
    if (value != null && value.isEmpty()) {
      out.append(EMPTY_TEXT, 0, EMPTY_TEXT.length());
    } else if (value != null) {
      text(out, value);
    }
  }

  /** At least the characters of a record's line in packing 3 (see {@link #header}). */
  static int headerChars(LineageEvent first) {
    return 8
        + 2 * (first.recordId().length() + length(first.sourceId()) + length(first.parentId()));
  }

  /**
   * At least the characters of an event's line (its text fields could all be escaped), to cut a
   * record's events into rows of about {@link LineageLog#MAX_PACKED} without writing them first.
   */
  static int maxChars(LineageEvent e) {
    return FIXED_CHARS
        + 2 * (e.stage().length() + length(e.branch()) + length(e.verdicts()))
        + 2 * (length(e.detail()) + length(e.position()));
  }

  private static int length(@Nullable String text) {
    return text == null ? 2 : text.length();
  }

  /**
   * The events of a packed row, oldest first. Text is given to {@link LineageEvent} as it was
   * before the event escaped it ({@link StorableText#unescape}), so that the event escapes it once
   * again to the same text: an event read back equals the event written.
   *
   * @param packing the row's packing, 1 or 2
   * @param firstAt the row's {@code first_at} (packing 2 counts times from it)
   * @throws IllegalArgumentException if a line is not of the packing
   */
  static List<LineageEvent> unpack(
      int packing,
      String recordId,
      @Nullable String sourceId,
      @Nullable String parentId,
      Instant firstAt,
      String packed) {
    if (packing != 1 && packing != PACKING) {
      throw new IllegalArgumentException("a lineage row has an unknown packing " + packing);
    }
    String id = StorableText.unescape(recordId);
    String source = original(sourceId);
    String parent = original(parentId);
    long first = micros(firstAt);
    Long previousOutput = null;
    List<LineageEvent> events = new ArrayList<>();
    for (String line : packed.split("\n", -1)) {
      LineageEvent e =
          packing == 1
              ? packingOne(id, source, parent, line)
              : packingTwo(id, source, parent, first, previousOutput, line);
      events.add(e);
      previousOutput = e.outputHash();
    }
    return events;
  }

  /**
   * The events of one record in a row of packing 3 ({@link #header}), oldest first; none if the row
   * holds no line of the record.
   *
   * @param recordId the record's id, as its own row's {@code record_id} would hold it
   * @param firstAt the row's {@code first_at}
   * @throws IllegalArgumentException if a line is not of the packing
   */
  static List<LineageEvent> unpackOf(String recordId, Instant firstAt, String packed) {
    List<LineageEvent> events = new ArrayList<>();
    long first = micros(firstAt);
    String id = null; // the record's, once its line is found
    String source = null;
    String parent = null;
    Long previousOutput = null;
    for (String line : packed.split("\n", -1)) {
      if (line.startsWith("=")) {
        if (id != null) {
          break; // the next record's line: this record's events are all read
        }
        String[] f = line.substring(1).split("\\|", -1);
        if (f.length != 3) {
          throw new IllegalArgumentException(
              "a lineage row's record line has " + f.length + " fields, not 3");
        }
        if (recordId.equals(unescape(f[0]))) {
          id = StorableText.unescape(recordId);
          source = text(f[1]);
          parent = text(f[2]);
        }
      } else if (id != null) {
        LineageEvent e = packingTwo(id, source, parent, first, previousOutput, line);
        events.add(e);
        previousOutput = e.outputHash();
      }
    }
    return events;
  }

  private static LineageEvent packingOne(
      String id, @Nullable String source, @Nullable String parent, String line) {
    String[] f = line.split("\t", -1);
    if (f.length != FIELDS) {
      throw new IllegalArgumentException(
          "a lineage line has " + f.length + " fields, not " + FIELDS);
    }
    return new LineageEvent(
        id,
        Objects.requireNonNull(unescape(f[0])),
        LineageOutcome.valueOf(f[1]),
        instant(Long.parseLong(f[2])),
        instant(Long.parseLong(f[3])),
        Integer.parseInt(f[4]),
        Long.parseLong(f[5]),
        f[6].equals(NONE) ? null : Long.parseLong(f[6]),
        source,
        parent,
        Integer.parseInt(f[7]),
        original(unescape(f[8])),
        original(unescape(f[9])),
        original(unescape(f[10])),
        original(unescape(f[11])));
  }

  private static LineageEvent packingTwo(
      String id,
      @Nullable String source,
      @Nullable String parent,
      long first,
      @Nullable Long previousOutput,
      String line) {
    String[] f = line.split("\\|", -1);
    if (f.length < 4 || f.length > FIELDS) {
      throw new IllegalArgumentException(
          "a lineage line has " + f.length + " fields, not 4 to " + FIELDS);
    }
    String in = field(f, 5);
    if (in.isEmpty() && previousOutput == null) {
      throw new IllegalArgumentException("a lineage line's input hash refers to no output before");
    }
    String out = field(f, 6);
    return new LineageEvent(
        id,
        Objects.requireNonNull(unescape(f[0])),
        outcome(f[1]),
        instant(first + Long.parseLong(f[2])),
        instant(first + Long.parseLong(f[3])),
        field(f, 4).isEmpty() ? 1 : Integer.parseInt(f[4]),
        in.isEmpty() ? Objects.requireNonNull(previousOutput) : Long.parseUnsignedLong(in, 16),
        out.isEmpty() ? null : Long.parseUnsignedLong(out, 16),
        source,
        parent,
        field(f, 7).isEmpty() ? 0 : Integer.parseInt(f[7]),
        text(field(f, 8)),
        text(field(f, 9)),
        text(field(f, 10)),
        text(field(f, 11)));
  }

  /** A field of packing 2, empty if left out. */
  private static String field(String[] fields, int i) {
    return i < fields.length ? fields[i] : "";
  }

  /** A text field of packing 2 as the event had it: empty for none. */
  private static @Nullable String text(String field) {
    if (field.isEmpty()) {
      return null;
    }
    return field.equals(EMPTY_TEXT) ? "" : original(unescape(field));
  }

  private static @Nullable String original(@Nullable String stored) {
    return stored == null ? null : StorableText.unescape(stored);
  }

  private static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
  }

  private static Instant instant(long m) {
    return Instant.ofEpochSecond(
        Math.floorDiv(m, 1_000_000L), Math.floorMod(m, 1_000_000L) * 1_000L);
  }

  /** Text escaped for packing 2 (packing 1 is only read). */
  private static BulkAppend.TextOut text(BulkAppend.TextOut out, String value) {
    int from = 0; // text from here on is not yet written: runs are copied whole, not by char
    for (int i = 0; i < value.length(); i++) {
      char escape =
          switch (value.charAt(i)) {
            case '\\' -> '\\';
            case '\t' -> 't';
            case '\n' -> 'n';
            case '\r' -> 'r';
            case '|' -> 'p';
            default -> 0;
          };
      if (escape != 0) {
        out.append(value, from, i).append('\\').append(escape);
        from = i + 1;
      }
    }
    return out.append(value, from, value.length());
  }

  private static @Nullable String unescape(String field) {
    if (field.equals(NONE)) {
      return null;
    }
    if (field.indexOf('\\') < 0) {
      return field;
    }
    StringBuilder b = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c != '\\' || i + 1 == field.length()) {
        b.append(c);
        continue;
      }
      char next = field.charAt(++i);
      b.append(
          switch (next) {
            case 't' -> '\t';
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 'p' -> '|';
            default -> next;
          });
    }
    return b.toString();
  }
}
