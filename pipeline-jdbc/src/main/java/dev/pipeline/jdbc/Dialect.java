package dev.pipeline.jdbc;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGStatement;

/**
 * Everything that differs between H2 and PostgreSQL, in one place: a few SQL fragments, where the
 * migration scripts live, and which errors are transient.
 */
enum Dialect {
  H2("h2") {
    @Override
    String plusMillis(String millis) {
      return "DATEADD(MILLISECOND, CAST(" + millis + " AS BIGINT), CURRENT_TIMESTAMP)";
    }

    @Override
    String minusMillis(String millis) {
      return "DATEADD(MILLISECOND, -CAST(" + millis + " AS BIGINT), CURRENT_TIMESTAMP)";
    }

    @Override
    String limit(String rows) {
      return "FETCH FIRST " + rows + " ROWS ONLY";
    }

    @Override
    String deleteSome(String table, String alias, String condition, String rows) {
      // (a "_ROWID_ IN (subquery)" scans the whole table for each batch: 5 minutes at 400,000 rows)
      return "DELETE FROM " + table + " " + alias + " WHERE " + condition + " " + limit(rows);
    }

    @Override
    String returning(String dml, String columns) {
      return "SELECT " + columns + " FROM FINAL TABLE (" + dml + ")";
    }

    @Override
    String insertIfAbsent(String table, String columns, List<String> rows, String returning) {
      // H2 has no ON CONFLICT outside its PostgreSQL mode; MERGE inserts only what is absent and
      // FINAL TABLE returns what it inserted.
      StringBuilder sql = new StringBuilder("SELECT ").append(returning);
      sql.append(" FROM FINAL TABLE (MERGE INTO ").append(table).append(" t USING (VALUES ");
      String[] names = columns.split(",\\s*");
      for (int i = 0; i < rows.size(); i++) {
        sql.append(i == 0 ? "" : ", ").append(rows.get(i));
      }
      sql.append(") AS v(").append(columns).append(") ON t.pipeline = v.pipeline");
      sql.append(" AND t.record_id = v.record_id WHEN NOT MATCHED THEN INSERT (");
      sql.append(columns).append(") VALUES (");
      for (int i = 0; i < names.length; i++) {
        sql.append(i == 0 ? "" : ", ").append("v.").append(names[i]);
      }
      return sql.append("))").toString();
    }

    @Override
    String updateByIds(String table, String set, @Nullable String condition, String returning) {
      // H2 does not use the primary key for "= ANY(array)"; a join on UNNEST does
      return "SELECT "
          + returning
          + " FROM FINAL TABLE (MERGE INTO "
          + table
          + " t USING (SELECT x FROM UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x)) s"
          + " ON t.pipeline = :pipeline AND t.record_id = s.x WHEN MATCHED"
          + (condition == null ? "" : " AND " + condition)
          + " THEN UPDATE SET "
          + set
          + ")";
    }

    @Override
    String byKeys(String table, String alias, String key, @Nullable String order) {
      // H2 probes the primary key per id for a join on UNNEST (not for "= ANY")
      return table
          + " "
          + alias
          + " JOIN UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x) ON "
          + alias
          + ".pipeline = :pipeline AND "
          + alias
          + "."
          + key
          + " = u.x";
    }

    @Override
    String joinByKey(
        String table,
        String alias,
        String key,
        String value,
        @Nullable UnaryOperator<String> condition) {
      return " JOIN "
          + table
          + " "
          + alias
          + " ON "
          + alias
          + "."
          + key
          + " = "
          + value
          + (condition == null ? "" : " AND " + condition.apply(alias));
    }

    @Override
    String upsert(String table, String columns, String values, String key) {
      // H2's MERGE ... KEY updates the row with that key or inserts one; the store serializes
      // H2 upserts of one key within the JVM, since two inserting it at once would conflict
      return "MERGE INTO " + table + " (" + columns + ") KEY (" + key + ") VALUES (" + values + ")";
    }

    @Override
    boolean locksInSubqueries() {
      // H2 evaluates "IN (SELECT ... FOR UPDATE SKIP LOCKED)" row by row (and reads an OR of two
      // statuses without its index): it locks in one statement and updates in the next
      return false;
    }

    @Override
    boolean needsExplicitTransactions() {
      // H2 2.x: a deadlock victim that is a data-change query (SELECT ... FROM FINAL TABLE (MERGE
      // ...)) run in auto-commit mode keeps its transaction open, so its row locks are never
      // released and every later writer of those rows times out; a rollback in auto-commit mode
      // does not end it either
      return true;
    }

    @Override
    boolean isTransient(SQLException e) {
      // 40001 deadlock, HYT00 lock timeout, 90067 connection broken, 90020 file locked by
      // another process (briefly, while it closes), 90135 database closing. Not 90098: a closed
      // database does not open again by itself (see isClosed)
      return !isClosed(e)
          && (super.isTransient(e)
              || Set.of("HYT00", "90067", "90020", "90135").contains(e.getSQLState()));
    }

    @Override
    boolean isClosed(SQLException e) {
      // 90098 database closed, 90121 database called at VM shutdown: H2 closed it (a SHUTDOWN,
      // or a fatal error such as an interrupted write to its file) and the connections on it
      // stay closed
      return Set.of("90098", "90121").contains(e.getSQLState());
    }

    @Override
    void checkVersion(DatabaseMetaData meta) throws SQLException {
      if (meta.getDatabaseMajorVersion() < 2
          || (meta.getDatabaseMajorVersion() == 2 && meta.getDatabaseMinorVersion() < 2)) {
        throw new IllegalStateException(
            "pipeline-jdbc needs H2 2.2 or newer (for FOR UPDATE SKIP LOCKED); found "
                + meta.getDatabaseProductVersion());
      }
    }
  },

  POSTGRESQL("postgresql") {
    @Override
    String plusMillis(String millis) {
      return "(CURRENT_TIMESTAMP + CAST("
          + millis
          + " AS DOUBLE PRECISION) * INTERVAL '1 millisecond')";
    }

    @Override
    String minusMillis(String millis) {
      return "(CURRENT_TIMESTAMP - CAST("
          + millis
          + " AS DOUBLE PRECISION) * INTERVAL '1 millisecond')";
    }

    @Override
    String limit(String rows) {
      return "LIMIT " + rows;
    }

    @Override
    String deleteSome(String table, String alias, String condition, String rows) {
      // the rows found by their addresses (a TID scan); PostgreSQL's DELETE has no limit
      return "DELETE FROM "
          + table
          + " WHERE ctid = ANY(ARRAY(SELECT "
          + alias
          + ".ctid FROM "
          + table
          + " "
          + alias
          + " WHERE "
          + condition
          + " "
          + limit(rows)
          + "))";
    }

    @Override
    String returning(String dml, String columns) {
      return dml + " RETURNING " + columns;
    }

    @Override
    String insertIfAbsent(String table, String columns, List<String> rows, String returning) {
      StringBuilder sql = new StringBuilder("INSERT INTO ").append(table);
      sql.append(" (").append(columns).append(") VALUES ");
      for (int i = 0; i < rows.size(); i++) {
        sql.append(i == 0 ? "" : ", ").append(rows.get(i));
      }
      return sql.append(" ON CONFLICT (pipeline, record_id) DO NOTHING RETURNING ")
          .append(returning)
          .toString();
    }

    @Override
    String updateByIds(String table, String set, @Nullable String condition, String returning) {
      // the keys found as byIds finds them (a probe of the primary key per id), then each row
      // updated by a probe of the key again: the target names no pipeline of its own, and its
      // condition, under IS TRUE, implies no partial index's predicate, so that only the key can
      // serve it. "record_id = ANY(:ids)", a join of the target on UNNEST, and the condition as it
      // is (which a claim's partial index on the pipeline and status implies) were planned as a
      // read of every row of the pipeline on tables never analyzed. The condition stays on the
      // target, where a row another transaction changed meanwhile is tested again
      return "UPDATE "
          + table
          + " SET "
          + set
          + " WHERE (pipeline, record_id) IN (SELECT i.pipeline, i.record_id FROM "
          + byIds(table, "i")
          + ")"
          + (condition == null ? "" : " AND (" + condition + ") IS TRUE")
          + " RETURNING "
          + returning;
    }

    @Override
    String byKeys(String table, String alias, String key, @Nullable String order) {
      // a lateral subquery per id, which the planner cannot turn into a join: on a table never
      // analyzed (the id rows' table, which the store does not analyze, or any table early in its
      // life) a join was seen planned as a read of every row of the pipeline per statement (22 ms
      // for 1,000 ids among 40,000 id rows, growing with the table) or per id (10 s, planned
      // once as a generic plan). OFFSET 0 keeps the conditions the caller puts on the alias out of
      // the subquery, so that only the key can serve it; an order by the key's next column makes
      // the key's index cheaper than another index on the pipeline, which costs the same on an
      // empty table
      return "UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x) CROSS JOIN LATERAL (SELECT * FROM "
          + table
          + " k WHERE k.pipeline = :pipeline AND k."
          + key
          + " = u.x"
          + (order == null ? "" : " ORDER BY k." + order)
          + " OFFSET 0) "
          + alias;
    }

    @Override
    String joinByKey(
        String table,
        String alias,
        String key,
        String value,
        @Nullable UnaryOperator<String> condition) {
      // lateral for the reason given at byIds: joined, a young table was read whole. The
      // condition goes inside, so that a FOR UPDATE of the alias locks only the rows that meet it
      return " CROSS JOIN LATERAL (SELECT * FROM "
          + table
          + " j WHERE j."
          + key
          + " = "
          + value
          + (condition == null ? "" : " AND " + condition.apply("j"))
          + " OFFSET 0) "
          + alias;
    }

    @Override
    String upsert(String table, String columns, String values, String key) {
      Set<String> keys = Set.of(key.split(",\\s*"));
      StringBuilder set = new StringBuilder();
      for (String column : columns.split(",\\s*")) {
        if (!keys.contains(column)) {
          set.append(set.isEmpty() ? "" : ", ")
              .append(column)
              .append(" = EXCLUDED.")
              .append(column);
        }
      }
      // atomic: of several inserting one key at once, one inserts and the others update
      return "INSERT INTO "
          + table
          + " ("
          + columns
          + ") VALUES ("
          + values
          + ") ON CONFLICT ("
          + key
          + ") DO UPDATE SET "
          + set;
    }

    @Override
    boolean locksInSubqueries() {
      return true;
    }

    @Override
    boolean needsExplicitTransactions() {
      return false; // a failed statement is rolled back by the server
    }

    @Override
    String planWithValues() {
      return "SET LOCAL plan_cache_mode = force_custom_plan";
    }

    @Override
    void planWithValues(PreparedStatement statement) throws SQLException {
      // sent unnamed each time, which the server plans with the values bound
      if (statement.isWrapperFor(PGStatement.class)) {
        statement.unwrap(PGStatement.class).setPrepareThreshold(0);
      }
    }

    @Override
    boolean isTransient(SQLException e) {
      // 57P01 admin shutdown (restart), 57P02 crash shutdown, 57P03 cannot connect now,
      // 53300 too many connections, 55P03 lock not available
      return super.isTransient(e)
          || Set.of("57P01", "57P02", "57P03", "53300", "55P03").contains(e.getSQLState());
    }

    @Override
    void checkVersion(DatabaseMetaData meta) throws SQLException {
      if (meta.getDatabaseMajorVersion() < 12) {
        throw new IllegalStateException(
            "pipeline-jdbc needs PostgreSQL 12 or newer; found "
                + meta.getDatabaseProductVersion());
      }
    }
  };

  private final String folder;

  Dialect(String folder) {
    this.folder = folder;
  }

  /** The folder of this dialect's migration scripts, under {@code dev/pipeline/jdbc/migrations}. */
  String folder() {
    return folder;
  }

  /** An expression: the database's clock plus a bound number of milliseconds. */
  abstract String plusMillis(String millis);

  /** An expression: the database's clock minus a bound number of milliseconds. */
  abstract String minusMillis(String millis);

  /** A row limit clause, after ORDER BY and before FOR UPDATE. */
  abstract String limit(String rows);

  /**
   * A delete of at most {@code rows} rows of {@code table} (as {@code alias}) meeting {@code
   * condition}, for a table without a key: found by the database's own row address.
   */
  abstract String deleteSome(String table, String alias, String condition, String rows);

  /** A data-changing statement that returns columns of the changed rows. */
  abstract String returning(String dml, String columns);

  /**
   * A multi-row insert into the status table that skips rows whose (pipeline, record_id) exists and
   * returns the given columns of the rows it inserted.
   */
  abstract String insertIfAbsent(String table, String columns, List<String> rows, String returning);

  /**
   * An update of the status rows whose ids are bound as the array {@code :ids} (and pipeline as
   * {@code :pipeline}), returning columns of the updated rows.
   */
  abstract String updateByIds(
      String table, String set, @Nullable String condition, String returning);

  /**
   * A FROM clause: the rows of {@code table}, as {@code alias}, whose (pipeline, record id) key is
   * {@code :pipeline} and one of the array {@code :ids}, each found by a probe of the index that
   * leads with those columns, whatever the table's statistics say.
   */
  String byIds(String table, String alias) {
    return byIds(table, alias, null);
  }

  /**
   * As {@link #byIds(String, String)}, for a table whose index continues with the column {@code
   * order} after the record id (several rows per id).
   */
  String byIds(String table, String alias, @Nullable String order) {
    return byKeys(table, alias, "record_id", order);
  }

  /**
   * As {@link #byIds(String, String, String)}, for a table whose key is the pipeline and the column
   * {@code key} (the ids bound in {@code :ids} are its values).
   */
  abstract String byKeys(String table, String alias, String key, @Nullable String order);

  /**
   * A join clause for after a FROM clause: the row of {@code table}, as {@code alias}, whose unique
   * column {@code key} equals the expression {@code value} (a column of a table before it), found
   * by a probe of that column's index whatever the table's statistics say.
   */
  String joinByKey(String table, String alias, String key, String value) {
    return joinByKey(table, alias, key, value, null);
  }

  /**
   * As {@link #joinByKey(String, String, String, String)}, the row also meeting {@code condition}
   * (given the row's alias, it returns the condition on it); a {@code FOR UPDATE} of {@code alias}
   * locks only the rows that meet it.
   */
  abstract String joinByKey(
      String table,
      String alias,
      String key,
      String value,
      @Nullable UnaryOperator<String> condition);

  /**
   * An insert of one row that updates the row with the same key instead, if there is one: every
   * column but the key columns takes the new value.
   */
  abstract String upsert(String table, String columns, String values, String key);

  /**
   * Whether {@code UPDATE ... WHERE key IN (SELECT ... FOR UPDATE SKIP LOCKED)} locks and updates
   * in one statement; if not, claims and heartbeats run a short transaction: select and lock, then
   * update by ids.
   */
  abstract boolean locksInSubqueries();

  /**
   * Whether every operation must run in an explicit transaction, because a statement failing in
   * auto-commit mode may leave its transaction, and its row locks, open.
   */
  abstract boolean needsExplicitTransactions();

  /**
   * The statement that makes the rest of a transaction plan each statement with its values, or null
   * where the database has no such setting (H2 plans a prepared statement once, without values).
   * For the few statements whose best plan depends on a value (a time cut-off, a page of a log by
   * time): the store's connections otherwise let the database reuse a generic plan, which spares
   * the hot path's planning.
   */
  @Nullable String planWithValues() {
    return null;
  }

  /**
   * Has the statement planned with its values each time it runs, outside any transaction (as {@link
   * #planWithValues()} cannot be): for a statement of a worker's own whose plan depends on sizes,
   * run in auto-commit mode so that a worker paused after it holds no row.
   */
  void planWithValues(PreparedStatement statement) throws SQLException {}

  /** Whether an error is worth retrying: the connection, a restart, a deadlock, a conflict. */
  boolean isTransient(SQLException e) {
    if (e instanceof SQLTransientException || e instanceof SQLRecoverableException) {
      return true;
    }
    String state = e.getSQLState();
    if (state == null) {
      return false;
    }
    // 08: connection exception; 40001 serialization failure; 40P01 deadlock detected
    return state.startsWith("08") || state.equals("40001") || state.equals("40P01");
  }

  /** Whether an error says the database itself is closed for good: fatal, never retried. */
  boolean isClosed(SQLException e) {
    return false;
  }

  /** Whether an error is a unique-key violation. */
  static boolean isUniqueViolation(SQLException e) {
    return "23505".equals(e.getSQLState());
  }

  abstract void checkVersion(DatabaseMetaData meta) throws SQLException;

  /**
   * Finds the dialect of a database.
   *
   * @throws IllegalStateException if it is neither H2 nor PostgreSQL, or too old
   */
  static Dialect of(Connection connection) throws SQLException {
    DatabaseMetaData meta = connection.getMetaData();
    String product = meta.getDatabaseProductName().toLowerCase(Locale.ROOT);
    Dialect dialect;
    if (product.equals("h2")) {
      dialect = H2;
    } else if (product.contains("postgresql")) {
      dialect = POSTGRESQL;
    } else {
      throw new IllegalStateException(
          "pipeline-jdbc supports H2 and PostgreSQL; this database is "
              + meta.getDatabaseProductName()
              + " "
              + meta.getDatabaseProductVersion());
    }
    dialect.checkVersion(meta);
    return dialect;
  }
}
