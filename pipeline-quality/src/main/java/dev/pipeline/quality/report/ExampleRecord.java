package dev.pipeline.quality.report;

import java.util.Objects;

/**
 * A record that failed a rule, shown in a report as an example. Its text is cut to {@value
 * #MAX_TEXT_CHARS} characters when it is made (the cut is said in the text), so that a huge value
 * cannot bloat a report; the report escapes it when it renders it.
 *
 * @param recordId the record's id
 * @param source the source it came from
 * @param text the record (or the failing value) as text
 */
public record ExampleRecord(String recordId, String source, String text) {

  /** The longest text kept. */
  public static final int MAX_TEXT_CHARS = 2_000;

  /** Checks the components and cuts the text. */
  public ExampleRecord {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    Objects.requireNonNull(source, "source cannot be null");
    Objects.requireNonNull(text, "text cannot be null");
    recordId = Text.cut(recordId, Text.MAX_NAME_CHARS);
    source = Text.cut(source, Text.MAX_NAME_CHARS);
    text = Text.cut(text, MAX_TEXT_CHARS);
  }
}
