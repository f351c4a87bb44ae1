package dev.pipeline.jdbc;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import dev.pipeline.internal.ErrorText;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * A source over the rows of a table, read in keyset pages: each page is the next {@code pageSize}
 * rows in key order after the last key read ({@code WHERE (key) > (:after) ORDER BY key LIMIT
 * :pageSize}), read in a short read-only transaction of its own. No cursor or connection is held
 * between pages, so the pipeline can work as long as it likes on a page, and memory holds one page.
 * Works on H2 and PostgreSQL.
 *
 * <pre>{@code
 * JdbcSource<Item> source =
 *     JdbcSource.builder(
 *             "src",
 *             dataSource,
 *             row -> new Item(row.getLong("id"), row.getString("title"), row.getInt("qty")))
 *         .table("shop.items")
 *         .keyColumns("id")
 *         .pageSize(300)
 *         .unmappableAs(key -> new Item(-1, key, 0))
 *         .build();
 * }</pre>
 *
 * <p><b>The key.</b> One or more columns that together are unique and never NULL (the builder
 * checks that a primary key or unique index covers them, and that they are NOT NULL, unless the
 * table is a view, where the view's author must make sure of it). Each column is an integer
 * (SMALLINT, INTEGER, BIGINT), text (CHAR, VARCHAR, TEXT), a UUID, a TIMESTAMP or a TIMESTAMP WITH
 * TIME ZONE. A composite key is compared as a row value, {@code (a, b) > (:a, :b)}, which both
 * databases answer from an index whose columns come in the key's order. Text keys are ordered by
 * the column's collation, the same for the comparison and the ORDER BY.
 *
 * <p><b>What a run sees.</b> Pages are separate transactions, not one snapshot: a row inserted or
 * updated while the source reads is seen if its key is past the position, and never if it is at or
 * behind it (rows inserted behind the position are not read: give new rows growing keys, e.g. a
 * sequence, to read them on a later run). A row deleted before its page is read is not read. A row
 * whose key changes may be read twice or not at all.
 *
 * <p><b>Position.</b> {@link #position()} is the key of the last row returned, typed and written as
 * {@code k=} and one part per key column ({@code i42} an integer, {@code s} and Base64url of the
 * UTF-8 text, {@code u} a UUID, {@code t} a timestamp, {@code z} an instant), e.g. {@code
 * k=sZ2VhcnM,i42}; {@code start} before any row. {@link #seek(String)} on a source over the same
 * table and key reads on after it. A text key whose position would be longer than {@link
 * SeekableSource#MAX_POSITION_CHARS} characters (about 740 bytes of UTF-8) fails the source when
 * its row is reached.
 *
 * <p><b>Record ids.</b> {@code sourceId + "-" + key} by default: the key's value ({@code
 * listings-42}), or for a composite key its values separated by ',' (with '\' and ',' in text
 * escaped by '\'); or what {@link Builder#recordId(Function)} makes of the key. They follow from
 * the key alone, so a row read again after a seek keeps its id.
 *
 * <p><b>A row that cannot be mapped</b> (the mapper throws or returns null) is yielded as one
 * record marked {@link Envelope#SOURCE_ERROR}, naming the table, the key and the error (bounded),
 * with the payload {@link Builder#unmappableAs(Function)} makes of the key, and reading goes on;
 * the pipeline dead-letters it at ingestion. A page that cannot be read (the database is down)
 * fails the source with an {@link SQLException} naming the table and the position: a resumed run
 * reads on from the position its store kept.
 *
 * <p>Not thread-safe, as a source need not be, except {@link #position()}, which any thread may
 * call. Holds no resources between pages: {@link #close()} only ends reading.
 *
 * @param <T> the payload type
 */
public final class JdbcSource<T> implements SeekableSource<T> {
  /** The page size unless set: 500 rows. */
  public static final int DEFAULT_PAGE_SIZE = 500;

  /** The largest page size: 100,000 rows. */
  public static final int MAX_PAGE_SIZE = 100_000;

  /** The most key columns: 8. */
  public static final int MAX_KEY_COLUMNS = 8;

  /** The longest error text of a mapper kept in a record's {@link Envelope#SOURCE_ERROR}. */
  private static final int MAX_ERROR_TEXT = 1_000;

  /**
   * Maps the current row of a page to a payload.
   *
   * @param <T> the payload type
   */
  @FunctionalInterface
  public interface RowMapper<T> {
    /**
     * The payload of the row the result set is on. Read its columns only: do not move the cursor or
     * close anything. Runs inside the page's transaction, so keep it quick.
     *
     * @throws SQLException if a column cannot be read; the row becomes a record marked {@link
     *     Envelope#SOURCE_ERROR}, as for any exception it throws
     */
    T map(ResultSet row) throws SQLException;
  }

  private final String id;
  private final DataSource dataSource;
  private final String table;
  private final Keyset keyset;
  private final int pageSize;
  private final String firstPage;
  private final String nextPage;
  private final RowMapper<? extends T> mapper;
  private final Function<String, ? extends T> unmappable;
  private final @Nullable Function<List<Object>, String> recordId;

  private final ArrayDeque<Row<T>> page = new ArrayDeque<>();
  private Object @Nullable [] last; // the key of the last row returned, or the one sought
  private volatile String position = Keyset.START;
  private boolean started;
  private boolean lastPage;
  private boolean closed;

  /** A row of a page: its key and position, and its record, or why it cannot be returned. */
  private record Row<T>(
      Object[] key, String position, @Nullable Envelope<T> record, @Nullable String failure) {}

  private JdbcSource(
      Builder<T> b,
      SqlTable resolved,
      List<String> keyColumns,
      Keyset keyset,
      List<String> others) {
    this.id = b.sourceId;
    this.dataSource = b.dataSource;
    this.table = resolved.toString();
    this.keyset = keyset;
    this.pageSize = b.pageSize;
    this.mapper = b.mapper;
    this.unmappable = Objects.requireNonNull(b.unmappable);
    this.recordId = b.recordId;
    List<String> keys = keyColumns.stream().map(SqlTable::quote).toList();
    List<String> selected = new ArrayList<>(keys);
    others.forEach(c -> selected.add(SqlTable.quote(c)));
    String select = "SELECT " + String.join(", ", selected) + " FROM " + resolved.qualified();
    String order = " ORDER BY " + String.join(", ", keys) + " " + b.dialect().limit("?");
    String after =
        keys.size() == 1
            ? keys.get(0) + " > ?"
            : "(" + String.join(", ", keys) + ") > (" + "?, ".repeat(keys.size() - 1) + "?)";
    this.firstPage = select + order;
    this.nextPage = select + " WHERE " + after + order;
  }

  /** A second reader of the same table, query and mapping, not yet read. */
  private JdbcSource(JdbcSource<T> same) {
    this.id = same.id;
    this.dataSource = same.dataSource;
    this.table = same.table;
    this.keyset = same.keyset;
    this.pageSize = same.pageSize;
    this.mapper = same.mapper;
    this.unmappable = same.unmappable;
    this.recordId = same.recordId;
    this.firstPage = same.firstPage;
    this.nextPage = same.nextPage;
  }

  /**
   * Starts a source over a table, read in keyset pages.
   *
   * @param sourceId the source's id, kept with every record and at the start of every default id
   * @param dataSource where the table is (a pool, ideally: the source takes a connection per page)
   * @param mapper the payload of a row
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the source id is blank, longer than 200 characters, or
   *     holds text no store can keep
   */
  public static <T> Builder<T> builder(
      String sourceId, DataSource dataSource, RowMapper<? extends T> mapper) {
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
    Objects.requireNonNull(dataSource, "dataSource cannot be null");
    Objects.requireNonNull(mapper, "mapper cannot be null");
    if (sourceId.isBlank()) {
      throw new IllegalArgumentException("sourceId cannot be blank");
    }
    Checks.checkName("source", sourceId);
    return new Builder<>(sourceId, dataSource, mapper);
  }

  @Override
  public String id() {
    return id;
  }

  /**
   * The next row's record, reading the next page when this one is used up; null after the last row.
   *
   * @throws SQLException if a page cannot be read; the message names the table and the position
   * @throws IllegalStateException if the source is closed, or a row cannot be given: its key is
   *     NULL (in a view), its position would be too long, the record id function failed on it, or
   *     the mapper moved the cursor
   */
  @Override
  public @Nullable Envelope<T> next() throws SQLException {
    if (closed) {
      throw new IllegalStateException("source '" + id + "' is closed");
    }
    started = true;
    if (page.isEmpty()) {
      if (lastPage) {
        return null;
      }
      readPage();
      if (page.isEmpty()) {
        return null;
      }
    }
    Row<T> row = page.poll();
    if (row.failure() != null) {
      page.clear();
      lastPage = true; // a source is not read after it failed; never skip past this row
      throw new IllegalStateException(row.failure());
    }
    last = row.key();
    position = row.position();
    return row.record();
  }

  private void readPage() throws SQLException {
    Object[] after = last;
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      boolean readOnly = c.isReadOnly();
      boolean done = false;
      try {
        if (autoCommit) {
          c.setAutoCommit(false);
        }
        if (!readOnly) {
          c.setReadOnly(true); // before the transaction's first statement, as PostgreSQL needs
        }
        try (PreparedStatement ps = c.prepareStatement(after == null ? firstPage : nextPage)) {
          int next = 1;
          if (after != null) {
            keyset.bind(ps, 1, after);
            next += keyset.size();
          }
          ps.setInt(next, pageSize);
          ps.setFetchSize(pageSize);
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              page.add(row(rs));
            }
          }
        }
        c.commit();
        done = true;
      } finally {
        if (!done) {
          page.clear();
          rollbackQuietly(c);
        }
        if (!readOnly) {
          c.setReadOnly(false);
        }
        if (autoCommit) {
          c.setAutoCommit(true);
        }
      }
    } catch (SQLException e) {
      throw new SQLException(
          "source '"
              + id
              + "' could not read the page of table "
              + table
              + " after position "
              + Names.quote(position)
              + ": "
              + Checks.causeText(e, MAX_ERROR_TEXT),
          e.getSQLState(),
          e.getErrorCode(),
          e);
    }
    lastPage = page.size() < pageSize;
  }

  private static void rollbackQuietly(Connection c) {
    try {
      c.rollback();
    } catch (SQLException ignored) {
      // the error that got here is the one to report; the pool discards a broken connection
    }
  }

  /** The row the result set is on, as a record, a record marked unreadable, or a failure. */
  private Row<T> row(ResultSet rs) throws SQLException {
    Object[] key = keyset.read(rs);
    if (key == null) {
      return new Row<>(
          new Object[0],
          position,
          null,
          "source '"
              + id
              + "' read a row with a NULL key column ("
              + String.join(", ", keyset.columns())
              + ") from "
              + table
              + " after position "
              + Names.quote(position)
              + ": a keyset source cannot page past it; keep NULL keys out of the view");
    }
    String shown = keyset.describe(key);
    String at = keyset.position(key);
    if (at.length() > MAX_POSITION_CHARS) {
      return failure(
          key,
          "the key ("
              + shown
              + ") is too long to be a position: "
              + at.length()
              + " characters written, at most "
              + MAX_POSITION_CHARS
              + "; use a shorter key");
    }
    String recordIdOf;
    try {
      recordIdOf =
          recordId == null
              ? id + "-" + keyset.idText(key)
              : recordId.apply(List.copyOf(Arrays.asList(key)));
    } catch (RuntimeException e) {
      return failure(key, "recordId(...) threw on it: " + ErrorText.describeDefault(e));
    }
    if (recordIdOf == null || recordIdOf.isBlank()) {
      return failure(key, "recordId(...) gave " + (recordIdOf == null ? "null" : "a blank id"));
    }
    int cursor = rs.getRow();
    String why;
    try {
      T payload = mapper.map(rs);
      if (payload != null) {
        if (rs.getRow() != cursor) {
          return failure(key, "the mapper moved the cursor: it may read the row's columns only");
        }
        return new Row<>(key, at, Envelope.of(recordIdOf, payload, id), null);
      }
      why = "the mapper returned null";
    } catch (SQLException | RuntimeException e) {
      why =
          "the mapper threw " + e.getClass().getName() + ": " + Checks.causeText(e, MAX_ERROR_TEXT);
    }
    T payload;
    try {
      payload = unmappable.apply(shown);
    } catch (RuntimeException e) {
      return failure(
          key, why + ", and unmappableAs(...) threw " + ErrorText.describeDefault(e) + " on it");
    }
    if (payload == null) {
      return failure(key, why + ", and unmappableAs(...) returned null for it");
    }
    Envelope<T> record =
        Envelope.of(recordIdOf, payload, id)
            .withMetadata(
                Envelope.SOURCE_ERROR,
                "row (" + shown + ") of table " + table + " could not be mapped: " + why);
    return new Row<>(key, at, record, null);
  }

  private Row<T> failure(Object[] key, String why) {
    return new Row<>(
        key,
        position,
        null,
        "source '"
            + id
            + "' cannot give the row ("
            + keyset.describe(key)
            + ") of table "
            + table
            + ": "
            + why);
  }

  /**
   * The key of the last row returned, as text ({@code start} before any): a source over the same
   * table and key {@link #seek(String) seeks} to it and reads the rows after it.
   */
  @Override
  public String position() {
    return position;
  }

  /** True: a second reader pages through the same table on connections of its own. */
  @Override
  public boolean reopens() {
    return true;
  }

  /** A second reader over the same table, not yet read; the caller seeks and closes it. */
  @Override
  public SeekableSource<T> reopen() {
    return new JdbcSource<>(this);
  }

  /**
   * Reads on after a position {@link #position()} gave, from the next {@link #next()}.
   *
   * @throws NullPointerException if null
   * @throws IllegalArgumentException if it is not a position of this source's key (the message says
   *     what was expected)
   * @throws IllegalStateException if rows were already read, or the source is closed
   */
  @Override
  public void seek(String position) {
    Objects.requireNonNull(position, "position cannot be null");
    if (closed) {
      throw new IllegalStateException("source '" + id + "' is closed");
    }
    if (started) {
      throw new IllegalStateException(
          "source '" + id + "' was already read: seek(...) before the first next()");
    }
    Object[] key = keyset.parse(position);
    this.last = key;
    this.position = key == null ? Keyset.START : keyset.position(key);
  }

  /** Ends reading: {@link #next()} throws afterwards. Holds nothing to release. */
  @Override
  public void close() {
    closed = true;
    page.clear();
  }

  @Override
  public String toString() {
    return "JdbcSource[" + id + ", table=" + table + ", key=" + keyset.columns() + "]";
  }

  /**
   * Configures a {@link JdbcSource}; {@link #build()} looks the table up and checks it.
   *
   * <p>Not thread-safe.
   *
   * @param <T> the payload type
   */
  public static final class Builder<T> {
    private final String sourceId;
    private final DataSource dataSource;
    private final RowMapper<? extends T> mapper;
    private SqlTable.@Nullable Name table;
    private @Nullable List<String> keyColumns;
    private @Nullable List<String> columns;
    private int pageSize = DEFAULT_PAGE_SIZE;
    private boolean pageSizeSet;
    private @Nullable Function<String, ? extends T> unmappable;
    private @Nullable Function<List<Object>, String> recordId;
    private @Nullable Dialect dialect;

    private Builder(String sourceId, DataSource dataSource, RowMapper<? extends T> mapper) {
      this.sourceId = sourceId;
      this.dataSource = dataSource;
      this.mapper = mapper;
    }

    /**
     * The table (or view) to read: {@code name} in the connection's current schema, or {@code
     * schema.name}. A view is how to read a query: its key must be unique and never NULL.
     *
     * @throws NullPointerException if null
     * @throws IllegalArgumentException unless each part matches {@code [A-Za-z_][A-Za-z0-9_]{0,62}}
     * @throws IllegalStateException if set twice
     */
    public Builder<T> table(String table) {
      SqlTable.Name checked = SqlTable.checkTable(table);
      once(this.table != null, "table");
      this.table = checked;
      return this;
    }

    /**
     * The key columns, in the order of the pages: unique together, never NULL, each an integer,
     * text, UUID or timestamp column.
     *
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if none, more than {@link #MAX_KEY_COLUMNS}, one given
     *     twice, or a name does not match {@code [A-Za-z_][A-Za-z0-9_]{0,62}}
     * @throws IllegalStateException if set twice
     */
    public Builder<T> keyColumns(String... columns) {
      List<String> checked = names("keyColumns", columns);
      if (checked.isEmpty() || checked.size() > MAX_KEY_COLUMNS) {
        throw new IllegalArgumentException(
            "keyColumns takes 1 to " + MAX_KEY_COLUMNS + " columns, was " + checked.size());
      }
      once(keyColumns != null, "keyColumns");
      this.keyColumns = checked;
      return this;
    }

    /**
     * The columns the mapper reads besides the key (all of the table's columns unless set). The key
     * columns come first in each row, then these, in this order.
     *
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if one is given twice or does not match {@code
     *     [A-Za-z_][A-Za-z0-9_]{0,62}}
     * @throws IllegalStateException if set twice
     */
    public Builder<T> columns(String... columns) {
      List<String> checked = names("columns", columns);
      once(this.columns != null, "columns");
      this.columns = checked;
      return this;
    }

    /**
     * How many rows a page holds, {@value #DEFAULT_PAGE_SIZE} unless set: the most rows in memory,
     * and the rows per query.
     *
     * @throws IllegalArgumentException if not between 1 and {@link #MAX_PAGE_SIZE}
     * @throws IllegalStateException if set twice
     */
    public Builder<T> pageSize(int rows) {
      if (rows < 1 || rows > MAX_PAGE_SIZE) {
        throw new IllegalArgumentException(
            "pageSize must be between 1 and " + MAX_PAGE_SIZE + " rows, was " + rows);
      }
      once(pageSizeSet, "pageSize");
      this.pageSize = rows;
      pageSizeSet = true;
      return this;
    }

    /**
     * The payload of a record whose row the mapper threw on (or mapped to null), made from the
     * row's key as text ({@code id=42}, text values quoted, escaped and cut): the record is
     * dead-lettered at ingestion with this payload, marked {@link Envelope#SOURCE_ERROR}. Required:
     * the source cannot make a payload of your type by itself. For String payloads, {@code key ->
     * key}.
     *
     * @throws NullPointerException if null
     * @throws IllegalStateException if set twice
     */
    public Builder<T> unmappableAs(Function<String, ? extends T> payload) {
      Objects.requireNonNull(payload, "payload cannot be null");
      once(unmappable != null, "unmappableAs");
      this.unmappable = payload;
      return this;
    }

    /**
     * How a record id follows from a row's key, given the key's values in the order of the key
     * columns (Long, String, UUID, LocalDateTime or Instant); {@code sourceId + "-" + key} unless
     * set. The same key must always give the same id.
     *
     * @throws NullPointerException if null
     * @throws IllegalStateException if set twice
     */
    public Builder<T> recordId(Function<List<Object>, String> idOfKey) {
      Objects.requireNonNull(idOfKey, "idOfKey cannot be null");
      once(recordId != null, "recordId");
      this.recordId = idOfKey;
      return this;
    }

    /**
     * Looks the table up and builds the source. Takes one connection for the catalog and gives it
     * back.
     *
     * @throws IllegalStateException if the table, the key columns or {@link #unmappableAs} were not
     *     set, or the database does not match: the message lists every problem (no such table or
     *     column, a key column of another type, or nullable, no unique index over the key), each
     *     with its fix
     * @throws JdbcStoreException if the catalog cannot be read (the database is not reachable)
     */
    public JdbcSource<T> build() {
      List<String> missing = new ArrayList<>();
      if (table == null) {
        missing.add("table(...)");
      }
      if (keyColumns == null) {
        missing.add("keyColumns(...)");
      }
      if (unmappable == null) {
        missing.add("unmappableAs(...) (the payload of a row the mapper throws on)");
      }
      if (!missing.isEmpty()) {
        throw new IllegalStateException(
            "source '" + sourceId + "' needs " + String.join(", ", missing) + " before build()");
      }
      SqlTable.Name name = Objects.requireNonNull(table);
      List<String> keys = Objects.requireNonNull(keyColumns);
      List<String> problems = new ArrayList<>();
      try (Connection c = dataSource.getConnection()) {
        dialect = Dialect.of(c);
        SqlTable found = SqlTable.find(c, name);
        if (found == null) {
          throw new IllegalStateException(
              "source '"
                  + sourceId
                  + "': there is no table or view "
                  + name
                  + (name.schema() == null ? " in schema " + Names.quote(c.getSchema()) : "")
                  + "; create it, or qualify it with its schema as schema.table");
        }
        List<String> keyNames = new ArrayList<>();
        List<Keyset.Type> types = new ArrayList<>();
        for (String key : keys) {
          SqlTable.Column column = found.column(key);
          if (column == null) {
            problems.add("key column " + key + " is not a column of " + found);
            continue;
          }
          Keyset.Type type = Keyset.Type.of(column.sqlType(), column.typeName());
          if (type == null) {
            problems.add(
                "key column "
                    + column.name()
                    + " is of type "
                    + column.typeName()
                    + "; a key column must be "
                    + Keyset.Type.supported());
          }
          if (!column.notNull() && !found.isView()) {
            problems.add(
                "key column "
                    + column.name()
                    + " may be NULL, and rows with a NULL key are never read; declare it NOT"
                    + " NULL");
          }
          keyNames.add(column.name());
          if (type != null) {
            types.add(type);
          }
        }
        if (keyNames.size() == keys.size()
            && !found.isView()
            && !coveredByUniqueKey(found, c, keyNames)) {
          problems.add(
              "no primary key or unique index of "
                  + found
                  + " lies within the key ("
                  + String.join(", ", keyNames)
                  + "): pages would skip rows that share a key; add one, e.g. CREATE UNIQUE INDEX"
                  + " ON "
                  + found
                  + " ("
                  + String.join(", ", keyNames)
                  + ")");
        }
        List<String> others = new ArrayList<>();
        if (columns == null) {
          for (SqlTable.Column column : found.columns()) {
            if (!keyNames.contains(column.name())) {
              others.add(column.name());
            }
          }
        } else {
          for (String wanted : columns) {
            SqlTable.Column column = found.column(wanted);
            if (column == null) {
              problems.add("column " + wanted + " is not a column of " + found);
            } else if (!keyNames.contains(column.name()) && !others.contains(column.name())) {
              others.add(column.name());
            }
          }
        }
        if (!problems.isEmpty()) {
          throw new IllegalStateException(
              "source '"
                  + sourceId
                  + "' cannot read "
                  + found
                  + " ("
                  + problems.size()
                  + (problems.size() == 1 ? " problem" : " problems")
                  + "):\n  - "
                  + String.join("\n  - ", problems));
        }
        // messages show the key columns as the user named them
        return new JdbcSource<>(this, found, keyNames, new Keyset(keys, types), others);
      } catch (SQLException e) {
        throw new JdbcStoreException(
            "check table",
            null,
            e.getSQLState(),
            "source '"
                + sourceId
                + "' could not read the definition of table "
                + name
                + ": "
                + Checks.causeText(e, MAX_ERROR_TEXT),
            e);
      }
    }

    private static boolean coveredByUniqueKey(SqlTable table, Connection c, List<String> keys)
        throws SQLException {
      for (Set<String> unique : table.uniqueKeys(c)) {
        if (keys.containsAll(unique)) {
          return true;
        }
      }
      return false;
    }

    private Dialect dialect() {
      return Objects.requireNonNull(dialect);
    }

    private static List<String> names(String what, String[] names) {
      Objects.requireNonNull(names, what + " cannot be null");
      Set<String> seen = new LinkedHashSet<>();
      for (String name : names) {
        SqlTable.checkColumn(what, name);
        if (!seen.add(name)) {
          throw new IllegalArgumentException(
              what + " names " + Names.quote(name) + " twice; give each column once");
        }
      }
      return List.copyOf(seen);
    }

    private static void once(boolean set, String what) {
      if (set) {
        throw new IllegalStateException(what + "(...) was already set");
      }
    }
  }
}
