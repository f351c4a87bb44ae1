package dev.pipeline.source;

import java.util.Objects;

/**
 * How delimited text is split into fields: the separator, the quote, and bounds on a field's size
 * and a row's fields. The defaults are RFC 4180's: comma, double quote. Made by {@link #builder()}
 * or {@link #defaults()}; used by {@link FileFormat#csv(CsvOptions)} and {@link
 * FileFormat#csvWithHeader(CsvOptions)}.
 *
 * <p>Immutable and thread-safe.
 */
public final class CsvOptions {
  /** The longest field unless told otherwise, in bytes: 1 MiB (the record limit's default). */
  public static final int DEFAULT_MAX_FIELD_BYTES = FileFormat.DEFAULT_MAX_RECORD_BYTES;

  /** The most fields of a row unless told otherwise. */
  public static final int DEFAULT_MAX_COLUMNS = 4_096;

  /** The largest column limit {@link Builder#maxColumns(int)} accepts. */
  public static final int MAX_COLUMNS = 1 << 16;

  private static final CsvOptions DEFAULTS =
      new CsvOptions(',', '"', DEFAULT_MAX_FIELD_BYTES, DEFAULT_MAX_COLUMNS);

  private final char separator;
  private final char quote;
  private final int maxFieldBytes;
  private final int maxColumns;

  private CsvOptions(char separator, char quote, int maxFieldBytes, int maxColumns) {
    this.separator = separator;
    this.quote = quote;
    this.maxFieldBytes = maxFieldBytes;
    this.maxColumns = maxColumns;
  }

  /** RFC 4180: comma, double quote, and the default limits. */
  public static CsvOptions defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the {@link #defaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The character between fields. */
  public char separator() {
    return separator;
  }

  /** The character that encloses a field holding separators, line breaks or quotes. */
  public char quote() {
    return quote;
  }

  /** The longest field, in bytes: a row with a longer one is dead-lettered. */
  public int maxFieldBytes() {
    return maxFieldBytes;
  }

  /** The most fields of a row: a row with more is dead-lettered. */
  public int maxColumns() {
    return maxColumns;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CsvOptions that
        && separator == that.separator
        && quote == that.quote
        && maxFieldBytes == that.maxFieldBytes
        && maxColumns == that.maxColumns;
  }

  @Override
  public int hashCode() {
    return Objects.hash(separator, quote, maxFieldBytes, maxColumns);
  }

  @Override
  public String toString() {
    return "CsvOptions[separator="
        + shown(separator)
        + ", quote="
        + shown(quote)
        + ", maxFieldBytes="
        + maxFieldBytes
        + ", maxColumns="
        + maxColumns
        + "]";
  }

  private static String shown(char c) {
    return c == '\t' ? "'\\t'" : "'" + c + "'";
  }

  /**
   * Builds {@link CsvOptions}; each option may be set once. Not thread-safe; {@link #build()}
   * copies what was set.
   */
  public static final class Builder {
    private char separator = ',';
    private char quote = '"';
    private int maxFieldBytes = DEFAULT_MAX_FIELD_BYTES;
    private int maxColumns = DEFAULT_MAX_COLUMNS;
    private boolean separatorSet;
    private boolean quoteSet;
    private boolean maxFieldBytesSet;
    private boolean maxColumnsSet;

    private Builder() {}

    /**
     * The character between fields: a printable ASCII character or a tab ({@code ','} unless set).
     *
     * @throws IllegalArgumentException if it is another character
     * @throws IllegalStateException if it was set already
     */
    public Builder separator(char separator) {
      if (separatorSet) {
        throw new IllegalStateException("separator was already set to " + shown(this.separator));
      }
      if (separator != '\t' && (separator < 0x20 || separator > 0x7E)) {
        throw new IllegalArgumentException(
            "separator must be a printable ASCII character (U+0020 to U+007E) or a tab, was U+"
                + hex(separator)
                + ": fields are split on its byte");
      }
      this.separator = separator;
      this.separatorSet = true;
      return this;
    }

    /**
     * The character that encloses a field: a printable ASCII character other than a space ({@code
     * '"'} unless set). Inside quotes, the quote is written twice.
     *
     * @throws IllegalArgumentException if it is another character
     * @throws IllegalStateException if it was set already
     */
    public Builder quote(char quote) {
      if (quoteSet) {
        throw new IllegalStateException("quote was already set to " + shown(this.quote));
      }
      if (quote < 0x21 || quote > 0x7E) {
        throw new IllegalArgumentException(
            "quote must be a printable ASCII character other than a space (U+0021 to U+007E), was"
                + " U+"
                + hex(quote));
      }
      this.quote = quote;
      this.quoteSet = true;
      return this;
    }

    /**
     * The longest field, in bytes ({@value CsvOptions#DEFAULT_MAX_FIELD_BYTES} unless set); a row
     * is also bounded by the format's {@link FileFormat#maxRecordBytes(int) record limit}.
     *
     * @throws IllegalArgumentException if it is not between 1 and {@link
     *     FileFormat#MAX_RECORD_BYTES}
     * @throws IllegalStateException if it was set already
     */
    public Builder maxFieldBytes(int maxFieldBytes) {
      if (maxFieldBytesSet) {
        throw new IllegalStateException("maxFieldBytes was already set to " + this.maxFieldBytes);
      }
      if (maxFieldBytes < 1 || maxFieldBytes > FileFormat.MAX_RECORD_BYTES) {
        throw new IllegalArgumentException(
            "maxFieldBytes must be between 1 and "
                + FileFormat.MAX_RECORD_BYTES
                + ", was "
                + maxFieldBytes);
      }
      this.maxFieldBytes = maxFieldBytes;
      this.maxFieldBytesSet = true;
      return this;
    }

    /**
     * The most fields of a row ({@value CsvOptions#DEFAULT_MAX_COLUMNS} unless set).
     *
     * @throws IllegalArgumentException if it is not between 1 and {@value CsvOptions#MAX_COLUMNS}
     * @throws IllegalStateException if it was set already
     */
    public Builder maxColumns(int maxColumns) {
      if (maxColumnsSet) {
        throw new IllegalStateException("maxColumns was already set to " + this.maxColumns);
      }
      if (maxColumns < 1 || maxColumns > MAX_COLUMNS) {
        throw new IllegalArgumentException(
            "maxColumns must be between 1 and " + MAX_COLUMNS + ", was " + maxColumns);
      }
      this.maxColumns = maxColumns;
      this.maxColumnsSet = true;
      return this;
    }

    /**
     * The options.
     *
     * @throws IllegalStateException if the separator and the quote are the same character
     */
    public CsvOptions build() {
      if (separator == quote) {
        throw new IllegalStateException(
            "separator and quote are both "
                + shown(separator)
                + ": they must differ (set one of them to another character)");
      }
      return new CsvOptions(separator, quote, maxFieldBytes, maxColumns);
    }

    private static String hex(char c) {
      return String.format(java.util.Locale.ROOT, "%04X", (int) c);
    }
  }
}
