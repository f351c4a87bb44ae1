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
 * The packed form of a record's lineage events in a row of {@code record_traces}: one line per
 * event, in the order the events happened, of twelve tab-separated fields: stage, outcome, entered
 * and left (microseconds since 1970 at UTC), attempts, input hash, output hash, children, branch,
 * verdicts, detail, source position. A missing value is {@code \N}; in text, a backslash, tab,
 * newline and carriage return are written {@code \\}, {@code \t}, {@code \n}, {@code \r}. The
 * record's id, source id and parent id are columns of the row, not fields.
 *
 * <p>Stateless and thread-safe.
 */
final class LineageTrace {
  private static final String NONE = "\\N";
  private static final int FIELDS = 12;

  private LineageTrace() {}

  /**
   * The most characters an event's line takes besides its text fields (stage, branch, verdicts,
   * detail, position): outcome, times, numbers, tabs and the newline.
   */
  private static final int FIXED_CHARS = 130;

  /**
   * Writes the events' lines, one per event, a newline between two: straight into COPY's data on
   * PostgreSQL ({@link BulkAppend.Parts}), which escapes each part as it comes.
   */
  static void pack(BulkAppend.TextOut out, List<LineageEvent> events) {
    for (int i = 0; i < events.size(); i++) {
      if (i > 0) {
        out.append('\n');
      }
      pack(out, events.get(i));
    }
  }

  private static void pack(BulkAppend.TextOut out, LineageEvent e) {
    text(out, e.stage()).append('\t');
    String outcome = e.outcome().name();
    out.append(outcome, 0, outcome.length()).append('\t');
    out.append(micros(e.enteredAt())).append('\t');
    out.append(micros(e.leftAt())).append('\t');
    out.append(e.attempts()).append('\t');
    out.append(e.inputHash()).append('\t');
    Long output = e.outputHash();
    if (output == null) {
      out.append(NONE, 0, NONE.length());
    } else {
      out.append(output);
    }
    out.append('\t').append(e.children()).append('\t');
    text(out, e.branch()).append('\t');
    text(out, e.verdicts()).append('\t');
    text(out, e.detail()).append('\t');
    text(out, e.position());
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
   */
  static List<LineageEvent> unpack(
      String recordId, @Nullable String sourceId, @Nullable String parentId, String packed) {
    String id = StorableText.unescape(recordId);
    String source = original(sourceId);
    String parent = original(parentId);
    List<LineageEvent> events = new ArrayList<>();
    for (String line : packed.split("\n", -1)) {
      String[] f = line.split("\t", -1);
      if (f.length != FIELDS) {
        throw new IllegalArgumentException(
            "a lineage line has " + f.length + " fields, not " + FIELDS);
      }
      events.add(
          new LineageEvent(
              id,
              Objects.requireNonNull(unescape(f[0])),
              LineageOutcome.valueOf(f[1]),
              instant(f[2]),
              instant(f[3]),
              Integer.parseInt(f[4]),
              Long.parseLong(f[5]),
              f[6].equals(NONE) ? null : Long.parseLong(f[6]),
              source,
              parent,
              Integer.parseInt(f[7]),
              original(unescape(f[8])),
              original(unescape(f[9])),
              original(unescape(f[10])),
              original(unescape(f[11]))));
    }
    return events;
  }

  private static @Nullable String original(@Nullable String stored) {
    return stored == null ? null : StorableText.unescape(stored);
  }

  private static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
  }

  private static Instant instant(String micros) {
    long m = Long.parseLong(micros);
    return Instant.ofEpochSecond(
        Math.floorDiv(m, 1_000_000L), Math.floorMod(m, 1_000_000L) * 1_000L);
  }

  private static BulkAppend.TextOut text(BulkAppend.TextOut out, @Nullable String value) {
    if (value == null) {
      return out.append(NONE, 0, NONE.length());
    }
    int from = 0; // text from here on is not yet written: runs are copied whole, not by char
    for (int i = 0; i < value.length(); i++) {
      char escape =
          switch (value.charAt(i)) {
            case '\\' -> '\\';
            case '\t' -> 't';
            case '\n' -> 'n';
            case '\r' -> 'r';
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
            default -> next;
          });
    }
    return b.toString();
  }
}
