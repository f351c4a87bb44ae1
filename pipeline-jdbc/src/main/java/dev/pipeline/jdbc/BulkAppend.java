package dev.pipeline.jdbc;

import dev.pipeline.store.StorableText;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.SqlStatement;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;

/**
 * The one way the store appends per-record facts to a table (a batch's id rows, lineage events,
 * audit lines, metrics windows): rows of typed columns, every value sent as data, never as SQL.
 *
 * <p>Per dialect, the cheapest way each database offers, measured on 5,000 lineage rows (see
 * docs/benchmarks.md, "One bulk-append path"):
 *
 * <ul>
 *   <li>PostgreSQL: {@code COPY table (columns) FROM STDIN} in the text format, through the
 *       driver's copy API (the connection unwrapped to {@code PGConnection}): one exchange, no
 *       plan, no parameter per value; about half the time of an {@code INSERT ... SELECT FROM
 *       UNNEST(arrays)} and a third of a JDBC batch. A connection that does not unwrap to the
 *       driver's (a proxy that hides it) appends with a JDBC batch instead.
 *   <li>Where rows must skip those already present (the ingest's id rows: a repeated id is a
 *       duplicate, not an error), COPY cannot be used, since it fails on a conflict; {@link
 *       #columns} gives the rows as one array per column for an {@code INSERT ... SELECT FROM
 *       UNNEST(...) ON CONFLICT DO NOTHING} of the caller's.
 *   <li>H2: a JDBC batch of one-row inserts (as cheap as multi-row {@code VALUES} there, one
 *       statement text).
 * </ul>
 *
 * <p>Text is written as given, except that a NUL (U+0000), which PostgreSQL refuses in text, or an
 * unpaired surrogate, which UTF-8 cannot encode, makes the whole value {@linkplain
 * StorableText#escape escaped} (reversibly, as {@code \}{@code u0000}) on both dialects: one
 * value's odd character never fails the rows appended with it. Thread-safe: its only state is one
 * spare COPY buffer, taken by one append at a time.
 */
final class BulkAppend {
  /** A column's type: how its values are encoded and bound. */
  enum Type {
    TEXT("varchar", "VARCHAR ARRAY"),
    INT("int4", "INTEGER ARRAY"),
    BIGINT("int8", "BIGINT ARRAY"),
    DOUBLE("float8", "DOUBLE PRECISION ARRAY"),
    BYTES("bytea", "BYTEA ARRAY"),
    TIME("varchar", "VARCHAR ARRAY"); // in arrays as text, cast by the statement

    final String arrayType;
    final String arraySql;

    Type(String arrayType, String arraySql) {
      this.arrayType = arrayType;
      this.arraySql = arraySql;
    }
  }

  /** Writes one item as a row: one call per column, in the order the columns were declared. */
  @FunctionalInterface
  interface RowWriter<T> {
    void write(T item, Row row) throws SQLException;
  }

  /**
   * Where a text value made in parts is written: COPY's data, escaped as each part comes, or a
   * builder for the other strategies.
   */
  interface TextOut {
    TextOut append(char c);

    /** The characters of text from {@code from} to {@code to} (exclusive). */
    TextOut append(CharSequence text, int from, int to);

    /** A number, in decimal. */
    TextOut append(long number);

    /**
     * The 64 bits as unsigned hexadecimal in lower case, without leading zeros ({@code 0} for
     * zero): {@code Long.toHexString}'s form.
     */
    default TextOut hex(long value) {
      String digits = Long.toHexString(value);
      return append(digits, 0, digits.length());
    }
  }

  /**
   * A text value made in parts as it is written (lineage's packed events, up to a megabyte an
   * append): on PostgreSQL no {@code String} of it is made, each part is escaped straight into
   * COPY's data. May be written twice (once more if it holds what a database refuses).
   */
  @FunctionalInterface
  interface Parts {
    void writeTo(TextOut out);
  }

  /** The values of one row, each call the next column. */
  interface Row {
    /** A text value: a {@code String}, or text being made (a builder), read once, not kept. */
    Row text(@Nullable CharSequence value) throws SQLException;

    /** A text value made in parts (never null), as {@link #text(CharSequence)} would write it. */
    default Row text(Parts value) throws SQLException {
      StringBuilder whole = new StringBuilder();
      value.writeTo(new Built(whole));
      return text(whole);
    }

    Row int32(int value) throws SQLException;

    Row int64(@Nullable Long value) throws SQLException;

    Row float64(@Nullable Double value) throws SQLException;

    Row bytes(byte @Nullable [] value) throws SQLException;

    Row time(@Nullable Instant value) throws SQLException;
  }

  private final Dialect dialect;
  private final boolean lazyCommit;
  private final Type[] types;
  private final String copy;
  private final String insert;

  /**
   * A COPY buffer of an earlier append, for the next (an append takes it, or makes its own if
   * another append holds it, and gives it back when sent): a lineage append of a megabyte then does
   * not allocate a megabyte. Kept only up to {@link #MAX_SPARE} bytes.
   */
  private final AtomicReference<byte @Nullable []> spare = new AtomicReference<>();

  /** The largest COPY buffer kept for the next append. */
  private static final int MAX_SPARE = 1 << 23;

  private BulkAppend(
      Dialect dialect, String table, List<String> names, List<Type> types, boolean lazyCommit) {
    this.dialect = dialect;
    this.lazyCommit = lazyCommit;
    this.types = types.toArray(Type[]::new);
    String columns = String.join(", ", names);
    this.copy = "COPY " + table + " (" + columns + ") FROM STDIN";
    this.insert =
        "INSERT INTO "
            + table
            + " ("
            + columns
            + ") VALUES ("
            + "?, ".repeat(names.size() - 1)
            + "?)";
  }

  /** Starts the declaration of appends to a table, by its validated, qualified name. */
  static Builder into(Dialect dialect, String table) {
    return new Builder(dialect, table);
  }

  /** Declares the columns, in the order each row gives its values. */
  static final class Builder {
    private final Dialect dialect;
    private final String table;
    private final List<String> names = new ArrayList<>();
    private final List<Type> types = new ArrayList<>();
    private boolean lazyCommit;

    private Builder(Dialect dialect, String table) {
      this.dialect = dialect;
      this.table = table;
    }

    /** Adds a column; its name is a constant of the store's schema. */
    Builder column(String name, Type type) {
      names.add(name);
      types.add(type);
      return this;
    }

    /**
     * Commits without waiting for the database's log to reach the disk ({@code SET LOCAL
     * synchronous_commit = off} on PostgreSQL; H2 has no such wait to skip): for facts about the
     * run (lineage, audit lines, metrics windows), never for records' state. A crash of the
     * database server may lose the last such appends (at most three times {@code wal_writer_delay},
     * 600 ms by default) but never leaves them half written; the appends stop waiting for a disk
     * flush each (4 to 7 ms measured here), and so stop delaying the record path's own commits that
     * share those flushes.
     */
    Builder lazyCommit() {
      lazyCommit = true;
      return this;
    }

    BulkAppend build() {
      if (names.isEmpty()) {
        throw new IllegalStateException("no columns for " + table);
      }
      return new BulkAppend(dialect, table, names, types, lazyCommit);
    }
  }

  /**
   * Appends a row per item on the handle's connection, all or none: in the handle's transaction if
   * one is open; otherwise a COPY is one statement, and a JDBC batch gets a transaction of its own.
   * Returns the number of rows appended.
   */
  <T> int append(Handle h, List<T> items, RowWriter<T> writer) throws SQLException {
    return append(h, items, 0, writer);
  }

  /**
   * As {@link #append(Handle, List, RowWriter)}, with the characters the rows will take about, if
   * the caller knows (0 if not): COPY's bytes are then written into a buffer of that size from the
   * start (or the spare one, if as large), not grown by copying as it fills (a lineage append is a
   * megabyte of text).
   */
  <T> int append(Handle h, List<T> items, int expectedChars, RowWriter<T> writer)
      throws SQLException {
    if (items.isEmpty()) {
      return 0;
    }
    if (h.isInTransaction() || !(lazyCommit && dialect == Dialect.POSTGRESQL)) {
      return appendIn(h, items, expectedChars, writer);
    }
    return h.inTransaction(
        tx -> {
          tx.execute("SET LOCAL synchronous_commit TO OFF");
          return appendIn(tx, items, expectedChars, writer);
        });
  }

  private <T> int appendIn(Handle h, List<T> items, int expectedChars, RowWriter<T> writer)
      throws SQLException {
    Connection connection = h.getConnection();
    if (dialect == Dialect.POSTGRESQL && connection.isWrapperFor(PGConnection.class)) {
      return copy(connection.unwrap(PGConnection.class), items, expectedChars, writer);
    }
    if (h.isInTransaction()) {
      return batch(connection, items, writer);
    }
    return h.inTransaction(tx -> batch(tx.getConnection(), items, writer));
  }

  private <T> int copy(
      PGConnection connection, List<T> items, int expectedChars, RowWriter<T> writer)
      throws SQLException {
    byte[] buffer = spare.getAndSet(null);
    if (buffer == null || buffer.length < expectedChars) {
      buffer = new byte[Math.max(8192, expectedChars)];
    }
    CopyRow row = new CopyRow(types, new CopyText(buffer));
    for (T item : items) {
      row.start();
      writer.write(item, row);
      row.end();
    }
    try {
      return (int) connection.getCopyAPI().copyIn(copy, row.out.stream());
    } catch (IOException e) {
      throw new SQLException(copy + " failed: " + e.getMessage(), "08006", e);
    } finally {
      byte[] used = row.out.buffer();
      if (used.length <= MAX_SPARE) {
        spare.set(used);
      }
    }
  }

  private <T> int batch(Connection connection, List<T> items, RowWriter<T> writer)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(insert)) {
      BoundRow row = new BoundRow(types, statement);
      for (T item : items) {
        row.start();
        writer.write(item, row);
        row.end();
        statement.addBatch();
      }
      statement.executeBatch();
    }
    return items.size();
  }

  /**
   * The rows as a table for a statement of the caller's, where an append must skip rows (the
   * ingest's id rows): {@code UNNEST(CAST(:p0 AS VARCHAR ARRAY), ...)}, one array parameter per
   * column named {@code prefix} and the column's place, bound by {@link #bindRows}. The caller
   * names the columns in its alias; times are text (ISO-8601 to the microsecond) for a cast.
   */
  String unnest(String prefix) {
    StringBuilder sql = new StringBuilder("UNNEST(");
    for (int i = 0; i < types.length; i++) {
      sql.append(i == 0 ? "" : ", ").append("CAST(:").append(prefix).append(i).append(" AS ");
      sql.append(types[i].arraySql).append(')');
    }
    return sql.append(')').toString();
  }

  /** Binds the rows to the parameters of {@link #unnest}, one array per column. */
  <T> void bindRows(SqlStatement<?> statement, String prefix, List<T> items, RowWriter<T> writer)
      throws SQLException {
    ArrayRow row = new ArrayRow(types, items.size());
    for (T item : items) {
      row.start();
      writer.write(item, row);
      row.end();
    }
    for (int i = 0; i < types.length; i++) {
      statement.bind(prefix + i, Args.array(types[i].arrayType, row.columns.get(i)));
    }
  }

  /** Text as written: escaped if it holds what a database refuses (see the class's javadoc). */
  static @Nullable String storable(@Nullable String text) {
    if (text == null) {
      return null;
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\0') {
        return StorableText.escape(text);
      }
      if (Character.isSurrogate(c)) {
        boolean paired =
            Character.isHighSurrogate(c)
                && i + 1 < text.length()
                && Character.isLowSurrogate(text.charAt(i + 1));
        if (!paired) {
          return StorableText.escape(text);
        }
        i++;
      }
    }
    return text;
  }

  /** A point in time as the database keeps it: to the microsecond, truncated, every strategy. */
  private static Instant micros(Instant value) {
    return value.truncatedTo(ChronoUnit.MICROS);
  }

  /** A builder as a {@link TextOut}. */
  private record Built(StringBuilder out) implements TextOut {
    @Override
    public TextOut append(char c) {
      out.append(c);
      return this;
    }

    @Override
    public TextOut append(CharSequence text, int from, int to) {
      out.append(text, from, to);
      return this;
    }

    @Override
    public TextOut append(long number) {
      out.append(number);
      return this;
    }
  }

  /** Counts the values of a row against its columns: a writer that gives too few or too many. */
  private abstract static class Checked implements Row {
    final Type[] types;
    int column;

    Checked(Type[] types) {
      this.types = types;
    }

    void start() {
      column = 0;
    }

    /** The next column's place, checked against the type its value has. */
    int next(Type type) {
      if (column >= types.length || types[column] != type) {
        throw new IllegalStateException(
            "row value " + column + " is " + type + ", the column is " + describe(column));
      }
      return column++;
    }

    private String describe(int at) {
      return at < types.length ? types[at].name() : "missing (" + types.length + " columns)";
    }

    void end() {
      if (column != types.length) {
        throw new IllegalStateException(
            "a row gave " + column + " values for " + types.length + " columns");
      }
    }
  }

  /** A row in COPY's text format: tab between values, {@code \N} for null, newline after. */
  private static final class CopyRow extends Checked {
    final CopyText out;

    CopyRow(Type[] types, CopyText out) {
      super(types);
      this.out = out;
    }

    @Override
    void end() {
      super.end();
      out.newline();
    }

    private void separate(Type type) {
      if (next(type) > 0) {
        out.tab();
      }
    }

    @Override
    public Row text(@Nullable CharSequence value) {
      separate(Type.TEXT);
      if (value == null) {
        out.nullValue();
      } else {
        out.text(value); // escaped, as storable() would, if it holds a NUL or a lone surrogate
      }
      return this;
    }

    @Override
    public Row text(Parts value) throws SQLException {
      separate(Type.TEXT);
      if (!out.parts(value)) {
        StringBuilder whole = new StringBuilder(); // rewound: written in its storable form
        value.writeTo(new Built(whole));
        out.text(whole);
      }
      return this;
    }

    @Override
    public Row int32(int value) {
      separate(Type.INT);
      out.number(value);
      return this;
    }

    @Override
    public Row int64(@Nullable Long value) {
      separate(Type.BIGINT);
      if (value == null) {
        out.nullValue();
      } else {
        out.number(value);
      }
      return this;
    }

    @Override
    public Row float64(@Nullable Double value) {
      separate(Type.DOUBLE);
      if (value == null) {
        out.nullValue();
      } else {
        out.ascii(value.toString()); // NaN and Infinity as PostgreSQL reads them
      }
      return this;
    }

    @Override
    public Row bytes(byte @Nullable [] value) {
      separate(Type.BYTES);
      if (value == null) {
        out.nullValue();
      } else {
        out.binary(value);
      }
      return this;
    }

    @Override
    public Row time(@Nullable Instant value) {
      separate(Type.TIME);
      if (value == null) {
        out.nullValue();
      } else {
        out.time(value); // to the microsecond, truncated, as micros() gives it
      }
      return this;
    }
  }

  /** A row bound to a statement's parameters, for a JDBC batch. */
  private static final class BoundRow extends Checked {
    private final PreparedStatement statement;

    BoundRow(Type[] types, PreparedStatement statement) {
      super(types);
      this.statement = statement;
    }

    @Override
    public Row text(@Nullable CharSequence value) throws SQLException {
      int p = next(Type.TEXT) + 1;
      String text = storable(value == null ? null : value.toString());
      if (text == null) {
        statement.setNull(p, Types.VARCHAR);
      } else {
        statement.setString(p, text);
      }
      return this;
    }

    @Override
    public Row int32(int value) throws SQLException {
      statement.setInt(next(Type.INT) + 1, value);
      return this;
    }

    @Override
    public Row int64(@Nullable Long value) throws SQLException {
      int p = next(Type.BIGINT) + 1;
      if (value == null) {
        statement.setNull(p, Types.BIGINT);
      } else {
        statement.setLong(p, value);
      }
      return this;
    }

    @Override
    public Row float64(@Nullable Double value) throws SQLException {
      int p = next(Type.DOUBLE) + 1;
      if (value == null) {
        statement.setNull(p, Types.DOUBLE);
      } else {
        statement.setDouble(p, value);
      }
      return this;
    }

    @Override
    public Row bytes(byte @Nullable [] value) throws SQLException {
      int p = next(Type.BYTES) + 1;
      if (value == null) {
        statement.setNull(p, Types.VARBINARY);
      } else {
        statement.setBytes(p, value);
      }
      return this;
    }

    @Override
    public Row time(@Nullable Instant value) throws SQLException {
      int p = next(Type.TIME) + 1;
      if (value == null) {
        statement.setNull(p, Types.TIMESTAMP_WITH_TIMEZONE);
      } else {
        statement.setObject( // truncated as in COPY (drivers round the nanoseconds)
            p,
            OffsetDateTime.ofInstant(micros(value), ZoneOffset.UTC),
            Types.TIMESTAMP_WITH_TIMEZONE);
      }
      return this;
    }
  }

  /** Rows gathered column by column, for arrays. */
  private static final class ArrayRow extends Checked {
    final List<Object[]> columns = new ArrayList<>();
    private int row = -1;

    ArrayRow(Type[] types, int rows) {
      super(types);
      for (Type type : types) {
        columns.add(
            switch (type) {
              case TEXT, TIME -> new String[rows];
              case INT -> new Integer[rows];
              case BIGINT -> new Long[rows];
              case DOUBLE -> new Double[rows];
              case BYTES -> new byte[rows][];
            });
      }
    }

    @Override
    void start() {
      super.start();
      row++;
    }

    @Override
    public Row text(@Nullable CharSequence value) {
      columns.get(next(Type.TEXT))[row] = storable(value == null ? null : value.toString());
      return this;
    }

    @Override
    public Row int32(int value) {
      columns.get(next(Type.INT))[row] = value;
      return this;
    }

    @Override
    public Row int64(@Nullable Long value) {
      columns.get(next(Type.BIGINT))[row] = value;
      return this;
    }

    @Override
    public Row float64(@Nullable Double value) {
      columns.get(next(Type.DOUBLE))[row] = value;
      return this;
    }

    @Override
    public Row bytes(byte @Nullable [] value) {
      columns.get(next(Type.BYTES))[row] = value;
      return this;
    }

    @Override
    public Row time(@Nullable Instant value) {
      columns.get(next(Type.TIME))[row] = value == null ? null : micros(value).toString();
      return this;
    }
  }
}
