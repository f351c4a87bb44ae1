package dev.pipeline.jdbc;

import dev.pipeline.Envelope;
import dev.pipeline.Sink;
import dev.pipeline.internal.ErrorText;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * A sink that upserts each record into a table by its record id, fenced by the record's {@link
 * Envelope#fencingToken() fencing token}: a row is written unless the table already holds the id
 * under a higher token. So a stale worker (one paused past its lease while another delivered the
 * record, with a higher token) never overwrites what the newer holder wrote, and a record delivered
 * again with the same token writes the same row again. A record without a token (the in-memory
 * store gives none) counts as token 0.
 *
 * <pre>{@code
 * JdbcSink<Item> sink =
 *     JdbcSink.builder(dataSource, "shop.items_out", Item.class)
 *         .column("title", "VARCHAR(100)", Item::title)
 *         .column("qty", "INTEGER", Item::qty)
 *         .createTable()
 *         .build();
 * }</pre>
 *
 * <p><b>The table</b> has the columns {@value #RECORD_ID} (text of up to 1,000 characters, with a
 * primary key or unique index on it alone) and {@value #FENCING_TOKEN} (BIGINT NOT NULL), and the
 * columns given to {@link Builder#column}. {@link Builder#createTable()} creates it if absent as
 *
 * <pre>
 * CREATE TABLE IF NOT EXISTS table (
 *   record_id VARCHAR(1000) NOT NULL PRIMARY KEY,
 *   fencing_token BIGINT NOT NULL,
 *   column type, ...)
 * </pre>
 *
 * <p>with the column names folded as unquoted names are (upper case on H2, lower case on
 * PostgreSQL); otherwise {@link Builder#build()} checks that the table has them all.
 *
 * <p><b>A call</b> writes its records as one JDBC batch in one transaction, in record id order (so
 * two calls writing the same ids lock them in the same order): on PostgreSQL {@code INSERT ... ON
 * CONFLICT (record_id) DO UPDATE SET ... WHERE table.fencing_token <= EXCLUDED.fencing_token}, on
 * H2 {@code MERGE ... WHEN MATCHED AND table.fencing_token <= source.fencing_token THEN UPDATE ...
 * WHEN NOT MATCHED THEN INSERT ...} (two H2 calls inserting one new id at once conflict: the call
 * that loses is run again, up to three times). Either all of a call's records are written (or
 * refused as stale) or none: a failing call throws and the pipeline retries it, then halves it
 * until a bad record is alone and dead-lettered.
 *
 * <p>Values are bound with {@code setObject}: String, numbers, Boolean, byte[], UUID, LocalDate,
 * LocalDateTime, OffsetDateTime; an Instant or ZonedDateTime as an OffsetDateTime, an enum as its
 * name; null as the column's SQL NULL. PostgreSQL types with no JDBC form (json, jsonb, enums) need
 * the driver's {@code stringtype=unspecified} or a column of text.
 *
 * <p>Thread-safe: called from several threads at once, it takes a connection per call.
 *
 * @param <T> the payload type
 */
public final class JdbcSink<T> implements Sink<T> {
  /** The column of the record id. */
  public static final String RECORD_ID = "record_id";

  /** The column of the fencing token the row was written with. */
  public static final String FENCING_TOKEN = "fencing_token";

  /** The most columns besides the id and the token: 1,000. */
  public static final int MAX_COLUMNS = 1_000;

  private static final int ATTEMPTS = 3;
  private static final int MAX_ERROR_TEXT = 1_000;

  /** An SQL type given for {@link Builder#createTable()}: words, and a size or precision. */
  private static final Pattern SQL_TYPE =
      Pattern.compile("[A-Za-z][A-Za-z0-9_ ]{0,40}(\\( ?[0-9]{1,5}( ?, ?[0-9]{1,5})? ?\\))?");

  private final DataSource dataSource;
  private final String table;
  private final Dialect dialect;
  private final String sql;
  private final List<Function<? super T, ?>> values;
  private final List<String> names;
  private final int[] nullTypes;
  private final AtomicLong refused = new AtomicLong();

  private JdbcSink(
      DataSource dataSource,
      SqlTable table,
      Dialect dialect,
      List<SqlTable.Column> columns,
      List<Function<? super T, ?>> values,
      List<String> names) {
    this.dataSource = dataSource;
    this.table = table.toString();
    this.dialect = dialect;
    this.values = List.copyOf(values);
    this.names = List.copyOf(names);
    this.nullTypes = new int[columns.size()];
    for (int i = 0; i < nullTypes.length; i++) {
      nullTypes[i] = columns.get(i).sqlType();
    }
    this.sql = upsert(dialect, table.qualified(), columns);
  }

  /** The statement of one row: the id, the token, then the columns; columns[0..1] id and token. */
  private static String upsert(Dialect dialect, String table, List<SqlTable.Column> columns) {
    List<String> quoted = columns.stream().map(SqlTable.Column::quoted).toList();
    String id = quoted.get(0);
    String token = quoted.get(1);
    StringBuilder set = new StringBuilder();
    if (dialect == Dialect.POSTGRESQL) {
      for (String column : quoted.subList(1, quoted.size())) {
        set.append(set.isEmpty() ? "" : ", ").append(column).append(" = EXCLUDED.").append(column);
      }
      return "INSERT INTO "
          + table
          + " AS dst ("
          + String.join(", ", quoted)
          + ") VALUES ("
          + "?, ".repeat(quoted.size() - 1)
          + "?) ON CONFLICT ("
          + id
          + ") DO UPDATE SET "
          + set
          + " WHERE dst."
          + token
          + " <= EXCLUDED."
          + token;
    }
    List<String> aliases = new ArrayList<>();
    for (int i = 0; i < quoted.size(); i++) {
      aliases.add("c" + i);
    }
    for (int i = 1; i < quoted.size(); i++) {
      set.append(set.isEmpty() ? "" : ", ").append(quoted.get(i)).append(" = src.c").append(i);
    }
    return "MERGE INTO "
        + table
        + " dst USING (VALUES ("
        + "?, ".repeat(quoted.size() - 1)
        + "?)) AS src("
        + String.join(", ", aliases)
        + ") ON dst."
        + id
        + " = src.c0 WHEN MATCHED AND dst."
        + token
        + " <= src.c1 THEN UPDATE SET "
        + set
        + " WHEN NOT MATCHED THEN INSERT ("
        + String.join(", ", quoted)
        + ") VALUES (src."
        + String.join(", src.", aliases)
        + ")";
  }

  /**
   * Starts a sink into a table.
   *
   * @param dataSource where the table is (a pool, ideally: the sink takes a connection per call)
   * @param table {@code name} in the connection's current schema, or {@code schema.name}
   * @param payloadType the type of the payloads it writes
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException unless each part of the table's name matches {@code
   *     [A-Za-z_][A-Za-z0-9_]{0,62}}
   */
  public static <T> Builder<T> builder(DataSource dataSource, String table, Class<T> payloadType) {
    Objects.requireNonNull(dataSource, "dataSource cannot be null");
    Objects.requireNonNull(payloadType, "payloadType cannot be null");
    return new Builder<>(dataSource, SqlTable.checkTable(table));
  }

  /**
   * Upserts the records as one batch in one transaction, each unless its id is stored under a
   * higher fencing token.
   *
   * @throws SQLException if the batch could not be written (nothing of it is); the message names
   *     the table and the number of records, and the driver's error, cut
   * @throws IllegalArgumentException if a column's value function threw on a record (the message
   *     names the column and the record); nothing of the batch is written
   */
  @Override
  public void publish(List<Envelope<T>> records) throws SQLException {
    if (records.isEmpty()) {
      return;
    }
    List<Envelope<T>> sorted = new ArrayList<>(records);
    sorted.sort(Comparator.comparing(Envelope::id));
    List<Object[]> rows = new ArrayList<>(sorted.size());
    for (Envelope<T> record : sorted) {
      rows.add(row(record));
    }
    for (int attempt = 1; ; attempt++) {
      try {
        write(rows);
        return;
      } catch (SQLException e) {
        if (attempt < ATTEMPTS && dialect == Dialect.H2 && isUniqueViolation(e)) {
          continue; // another call inserted one of the ids first: now it is there to update
        }
        throw failed(rows.size(), e);
      }
    }
  }

  private Object[] row(Envelope<T> record) {
    Object[] row = new Object[2 + values.size()];
    row[0] = record.id();
    row[1] = record.fencingToken().orElse(0L);
    for (int i = 0; i < values.size(); i++) {
      try {
        row[2 + i] = jdbcValue(values.get(i).apply(record.payload()));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "sink into "
                + table
                + ": the value of column "
                + names.get(i)
                + " of record "
                + Names.quote(record.id())
                + " could not be made: "
                + ErrorText.describeDefault(e),
            e);
      }
    }
    return row;
  }

  private static @Nullable Object jdbcValue(@Nullable Object value) {
    if (value instanceof Instant instant) {
      return OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }
    if (value instanceof ZonedDateTime zoned) {
      return zoned.toOffsetDateTime();
    }
    if (value instanceof Enum<?> constant) {
      return constant.name();
    }
    return value;
  }

  private void write(List<Object[]> rows) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      if (autoCommit) {
        c.setAutoCommit(false);
      }
      boolean done = false;
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (Object[] row : rows) {
          ps.setString(1, (String) row[0]);
          ps.setLong(2, (Long) row[1]);
          for (int i = 2; i < row.length; i++) {
            if (row[i] == null) {
              ps.setNull(i + 1, nullTypes[i]);
            } else {
              ps.setObject(i + 1, row[i]);
            }
          }
          ps.addBatch();
        }
        int[] counts = ps.executeBatch();
        c.commit();
        done = true;
        long stale = 0;
        for (int count : counts) {
          if (count == 0) {
            stale++;
          }
        }
        refused.addAndGet(stale);
      } finally {
        if (!done) {
          try {
            c.rollback();
          } catch (SQLException ignored) {
            // the error that got here is the one to report; the pool discards a broken connection
          }
        }
        if (autoCommit) {
          c.setAutoCommit(true);
        }
      }
    }
  }

  private static boolean isUniqueViolation(SQLException e) {
    for (SQLException s = e; s != null; s = s.getNextException()) {
      if (Dialect.isUniqueViolation(s)) {
        return true;
      }
    }
    return false;
  }

  /** The error with what the reader needs: a batch error's message holds the values; cut it. */
  private SQLException failed(int records, SQLException e) {
    SQLException reason = e;
    if (e instanceof BatchUpdateException && e.getNextException() != null) {
      reason = e.getNextException(); // pgjdbc: the server's error is the next one
    }
    return new SQLException(
        "sink could not write "
            + records
            + (records == 1 ? " record" : " records")
            + " into "
            + table
            + " (nothing of them was written): "
            + Checks.causeText(reason, MAX_ERROR_TEXT),
        reason.getSQLState(),
        reason.getErrorCode(),
        e);
  }

  /**
   * How many writes this sink refused because the table held the record under a higher fencing
   * token: stale writes it kept out. Counted from the batch's update counts, as the driver reports
   * them.
   */
  public long refusedWrites() {
    return refused.get();
  }

  @Override
  public String toString() {
    return "JdbcSink[table=" + table + ", columns=" + names + "]";
  }

  /**
   * Configures a {@link JdbcSink}; {@link #build()} creates or checks the table.
   *
   * <p>Not thread-safe.
   *
   * @param <T> the payload type
   */
  public static final class Builder<T> {
    private final DataSource dataSource;
    private final SqlTable.Name table;
    private final Map<String, Function<? super T, ?>> columns = new LinkedHashMap<>();
    private final Map<String, @Nullable String> types = new LinkedHashMap<>();
    private boolean create;

    private Builder(DataSource dataSource, SqlTable.Name table) {
      this.dataSource = dataSource;
      this.table = table;
    }

    /**
     * A column written with a value of each payload (null writes SQL NULL).
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the name does not match {@code
     *     [A-Za-z_][A-Za-z0-9_]{0,62}}, is {@value #RECORD_ID} or {@value #FENCING_TOKEN}, or more
     *     than {@link #MAX_COLUMNS} columns are given
     * @throws IllegalStateException if the column was already given
     */
    public Builder<T> column(String name, Function<? super T, ?> value) {
      return add(name, null, value);
    }

    /**
     * A column written with a value of each payload, of an SQL type for {@link #createTable()}
     * (e.g. {@code VARCHAR(200)}, {@code NUMERIC(12, 2)}, {@code TIMESTAMP WITH TIME ZONE}).
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException as {@link #column(String, Function)}, or if the type is not
     *     words of letters, digits and '_' with an optional size, e.g. {@code (12, 2)}
     * @throws IllegalStateException if the column was already given
     */
    public Builder<T> column(String name, String sqlType, Function<? super T, ?> value) {
      Objects.requireNonNull(sqlType, "sqlType cannot be null");
      if (!SQL_TYPE.matcher(sqlType).matches()) {
        throw new IllegalArgumentException(
            "sqlType "
                + Names.quote(sqlType)
                + " of column "
                + Names.quote(String.valueOf(name))
                + " is not a type name: use words of letters, digits and '_' with an optional size,"
                + " e.g. VARCHAR(200), NUMERIC(12, 2), TIMESTAMP WITH TIME ZONE");
      }
      return add(name, sqlType.trim(), value);
    }

    private Builder<T> add(String name, @Nullable String sqlType, Function<? super T, ?> value) {
      SqlTable.checkColumn("column", name);
      Objects.requireNonNull(value, "value cannot be null");
      String folded = name.toLowerCase(Locale.ROOT);
      if (folded.equals(RECORD_ID) || folded.equals(FENCING_TOKEN)) {
        throw new IllegalArgumentException(
            "column "
                + Names.quote(name)
                + " is the sink's own: it writes "
                + RECORD_ID
                + " and "
                + FENCING_TOKEN
                + " itself; name your column otherwise");
      }
      for (String given : columns.keySet()) {
        if (given.equalsIgnoreCase(name)) {
          throw new IllegalStateException("column " + Names.quote(name) + " was already given");
        }
      }
      if (columns.size() == MAX_COLUMNS) {
        throw new IllegalArgumentException(
            "a sink writes at most " + MAX_COLUMNS + " columns besides the id and the token");
      }
      columns.put(name, value);
      types.put(name, sqlType);
      return this;
    }

    /**
     * Creates the table in {@link #build()} if it does not exist (the schema must exist), with the
     * columns {@value #RECORD_ID} VARCHAR(1000) primary key, {@value #FENCING_TOKEN} BIGINT NOT
     * NULL, and each column given with its type. An existing table is checked as without it.
     *
     * @throws IllegalStateException if called twice
     */
    public Builder<T> createTable() {
      if (create) {
        throw new IllegalStateException("createTable() was already called");
      }
      create = true;
      return this;
    }

    /**
     * Creates the table if asked, then checks that it has the id, the token and every column given,
     * and a unique index on the id alone. Takes one connection and gives it back.
     *
     * @throws IllegalStateException if {@link #createTable()} was called and a column has no type,
     *     or the table does not match: the message lists every problem with its fix
     * @throws JdbcStoreException if the table cannot be created or its definition read
     */
    public JdbcSink<T> build() {
      if (create) {
        List<String> untyped = new ArrayList<>();
        types.forEach(
            (name, type) -> {
              if (type == null) {
                untyped.add(name);
              }
            });
        if (!untyped.isEmpty()) {
          throw new IllegalStateException(
              "createTable() needs the SQL type of every column; give it as column(name, sqlType,"
                  + " value) for: "
                  + String.join(", ", untyped));
        }
      }
      String step = "check table";
      try (Connection c = dataSource.getConnection()) {
        Dialect dialect = Dialect.of(c);
        SqlTable found = SqlTable.find(c, table);
        if (found == null && create) {
          step = "create table";
          create(c, dialect);
          found = SqlTable.find(c, table);
        }
        if (found == null) {
          throw new IllegalStateException(
              "sink: there is no table "
                  + table
                  + (table.schema() == null ? " in schema " + Names.quote(c.getSchema()) : "")
                  + "; create it ("
                  + ddl(dialect, "<type>")
                  + "), or call createTable() with each column's type");
        }
        return check(c, dialect, found);
      } catch (SQLException e) {
        throw new JdbcStoreException(
            step,
            null,
            e.getSQLState(),
            "sink could not "
                + step.replace(" table", "")
                + " table "
                + table
                + ": "
                + Checks.causeText(e, MAX_ERROR_TEXT),
            e);
      }
    }

    private void create(Connection c, Dialect dialect) throws SQLException {
      try (Statement s = c.createStatement()) {
        boolean autoCommit = c.getAutoCommit();
        s.execute(ddl(dialect, null));
        if (!autoCommit) {
          c.commit();
        }
      }
    }

    /** The table's DDL; {@code anyType} for columns without a type, or null to use theirs. */
    private String ddl(Dialect dialect, @Nullable String anyType) {
      StringBuilder out = new StringBuilder("CREATE TABLE IF NOT EXISTS ");
      if (table.schema() != null) {
        out.append(folded(dialect, table.schema())).append('.');
      }
      out.append(folded(dialect, table.table()))
          .append(" (")
          .append(folded(dialect, RECORD_ID))
          .append(" VARCHAR(1000) NOT NULL PRIMARY KEY, ")
          .append(folded(dialect, FENCING_TOKEN))
          .append(" BIGINT NOT NULL");
      types.forEach(
          (name, type) ->
              out.append(", ")
                  .append(folded(dialect, name))
                  .append(' ')
                  .append(type != null ? type : String.valueOf(anyType)));
      return out.append(')').toString();
    }

    /** A name as the database folds it when unquoted, quoted: reserved words work too. */
    private static String folded(Dialect dialect, String name) {
      return SqlTable.quote(
          dialect == Dialect.H2 ? name.toUpperCase(Locale.ROOT) : name.toLowerCase(Locale.ROOT));
    }

    private JdbcSink<T> check(Connection c, Dialect dialect, SqlTable found) throws SQLException {
      List<String> problems = new ArrayList<>();
      SqlTable.Column id = found.column(RECORD_ID);
      SqlTable.Column token = found.column(FENCING_TOKEN);
      if (id == null) {
        problems.add("it has no column " + RECORD_ID + ": add " + RECORD_ID + " VARCHAR(1000)");
      } else {
        if (!SqlTable.isText(id.sqlType())) {
          problems.add(
              "its column "
                  + id.name()
                  + " is of type "
                  + id.typeName()
                  + "; record ids are text: make it VARCHAR(1000)");
        }
        boolean unique = false;
        for (var key : found.uniqueKeys(c)) {
          unique |= key.size() == 1 && key.contains(id.name());
        }
        if (!unique) {
          problems.add(
              "no primary key or unique index lies on "
                  + id.name()
                  + " alone, and the upsert needs one: ALTER TABLE "
                  + found
                  + " ADD PRIMARY KEY ("
                  + id.name()
                  + ")");
        }
      }
      if (token == null) {
        problems.add(
            "it has no column " + FENCING_TOKEN + ": add " + FENCING_TOKEN + " BIGINT NOT NULL");
      } else if (token.sqlType() != Types.BIGINT) {
        problems.add(
            "its column "
                + token.name()
                + " is of type "
                + token.typeName()
                + "; fencing tokens are 64-bit: make it BIGINT NOT NULL");
      }
      List<SqlTable.Column> resolved = new ArrayList<>();
      if (id != null) {
        resolved.add(id);
      }
      if (token != null) {
        resolved.add(token);
      }
      for (String name : columns.keySet()) {
        SqlTable.Column column = found.column(name);
        if (column == null) {
          String type = types.get(name);
          problems.add(
              "it has no column "
                  + name
                  + ": add it (ALTER TABLE "
                  + found
                  + " ADD COLUMN "
                  + name
                  + " "
                  + (type == null ? "<type>" : type)
                  + ")");
        } else {
          resolved.add(column);
        }
      }
      if (!problems.isEmpty()) {
        throw new IllegalStateException(
            "sink cannot write into "
                + found
                + " ("
                + problems.size()
                + (problems.size() == 1 ? " problem" : " problems")
                + "):\n  - "
                + String.join("\n  - ", problems));
      }
      return new JdbcSink<>(
          dataSource,
          found,
          dialect,
          resolved,
          new ArrayList<Function<? super T, ?>>(columns.values()),
          List.copyOf(columns.keySet()));
    }
  }
}
