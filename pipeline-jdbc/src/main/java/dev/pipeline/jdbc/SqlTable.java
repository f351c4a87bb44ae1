package dev.pipeline.jdbc;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A table of the user's (read by {@link JdbcSource}, written by {@link JdbcSink}) as the database's
 * catalog knows it: the schema, name and columns the user gave, validated, then looked up so that
 * SQL names them exactly, quoted.
 *
 * <p>Identifiers cannot be bound as parameters: they are the only text of the user's that goes into
 * SQL, so each must match {@link #RULE}, and what goes into SQL is the catalog's own spelling of
 * the name (which matches the rule too), in double quotes. A name is looked up as written, then as
 * the database folds unquoted names (upper case on H2, lower case on PostgreSQL), so {@code items}
 * finds the table a DBA created with {@code CREATE TABLE items}, and a reserved word that names an
 * existing column ({@code key}, {@code value}) works.
 */
final class SqlTable {
  /** What a schema, table or column name given to a source or a sink may look like. */
  static final String RULE =
      "ASCII letters, digits and '_', starting with a letter or '_', at most 63 characters"
          + " ([A-Za-z_][A-Za-z0-9_]{0,62}); a table may be qualified by its schema as"
          + " schema.table";

  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");

  /** A column as the catalog describes it. */
  record Column(String name, int sqlType, String typeName, boolean notNull) {
    String quoted() {
      return quote(name);
    }
  }

  /** A table name as the user gave it, checked: its schema (null: the current one) and name. */
  record Name(@Nullable String schema, String table) {
    @Override
    public String toString() {
      return schema == null ? table : schema + "." + table;
    }
  }

  private final String schema;
  private final String name;
  private final String type;
  private final Map<String, Column> columns;

  private SqlTable(String schema, String name, String type, Map<String, Column> columns) {
    this.schema = schema;
    this.name = name;
    this.type = type;
    this.columns = columns;
  }

  /**
   * Checks a table name, {@code table} or {@code schema.table}.
   *
   * @throws NullPointerException if null
   * @throws IllegalArgumentException naming the value and the rule it breaks
   */
  static Name checkTable(String table) {
    Objects.requireNonNull(table, "table cannot be null");
    int dot = table.indexOf('.');
    if (dot < 0) {
      return new Name(null, check("table", table));
    }
    String schema = table.substring(0, dot);
    String rest = table.substring(dot + 1);
    if (!IDENTIFIER.matcher(schema).matches() || !IDENTIFIER.matcher(rest).matches()) {
      throw new IllegalArgumentException(
          "table " + Names.quote(table) + " is not a valid table name: use " + RULE);
    }
    return new Name(schema, rest);
  }

  /**
   * Checks a column name.
   *
   * @throws NullPointerException if null
   * @throws IllegalArgumentException naming the value and the rule it breaks
   */
  static String checkColumn(String what, @Nullable String column) {
    Objects.requireNonNull(column, what + " cannot be null");
    return check(what, column);
  }

  private static String check(String what, String value) {
    if (!IDENTIFIER.matcher(value).matches()) {
      throw new IllegalArgumentException(
          what + " " + Names.quote(value) + " is not a valid name: use " + RULE);
    }
    return value;
  }

  /** A name in double quotes; only names matching the rule get here, so none holds a quote. */
  static String quote(String identifier) {
    return '"' + identifier + '"';
  }

  /**
   * Looks the table up in the catalog.
   *
   * @return the table, or null if there is none of that name
   * @throws IllegalStateException if no schema was given and the connection's current one has a
   *     name outside the rule
   */
  static @Nullable SqlTable find(Connection connection, Name table) throws SQLException {
    DatabaseMetaData meta = connection.getMetaData();
    String schema = schemaOf(connection, table);
    if (schema == null) {
      return null;
    }
    String escape = meta.getSearchStringEscape();
    for (String candidate : spellings(table.table())) {
      try (ResultSet rs =
          meta.getTables(null, like(schema, escape), like(candidate, escape), null)) {
        while (rs.next()) {
          String found = rs.getString("TABLE_NAME");
          if (candidate.equals(found) && schema.equals(rs.getString("TABLE_SCHEM"))) {
            String type = String.valueOf(rs.getString("TABLE_TYPE"));
            return new SqlTable(schema, found, type, columns(meta, schema, found, escape));
          }
        }
      }
    }
    return null;
  }

  /** The schema's name as the catalog spells it, or null if there is no such schema. */
  static @Nullable String schemaOf(Connection connection, Name table) throws SQLException {
    if (table.schema() == null) {
      String current = connection.getSchema();
      if (current == null || !IDENTIFIER.matcher(current).matches()) {
        throw new IllegalStateException(
            "the connection's current schema "
                + (current == null ? "is not known" : Names.quote(current) + " is not a name")
                + " pipeline-jdbc puts into SQL ("
                + RULE
                + "); qualify the table with its schema");
      }
      return current;
    }
    DatabaseMetaData meta = connection.getMetaData();
    String escape = meta.getSearchStringEscape();
    for (String candidate : spellings(table.schema())) {
      try (ResultSet rs = meta.getSchemas(null, like(candidate, escape))) {
        while (rs.next()) {
          if (candidate.equals(rs.getString("TABLE_SCHEM"))) {
            return candidate;
          }
        }
      }
    }
    return null;
  }

  /** The name as written, then in lower and in upper case: how H2 and PostgreSQL fold it. */
  static Set<String> spellings(String name) {
    Set<String> out = new LinkedHashSet<>();
    out.add(name);
    out.add(name.toLowerCase(Locale.ROOT));
    out.add(name.toUpperCase(Locale.ROOT));
    return out;
  }

  /** A name as a catalog pattern: '_' is a wildcard there (names hold no '%'). */
  private static String like(String name, String escape) {
    return escape == null || escape.isEmpty() ? name : name.replace("_", escape + "_");
  }

  private static Map<String, Column> columns(
      DatabaseMetaData meta, String schema, String table, String escape) throws SQLException {
    Map<String, Column> out = new LinkedHashMap<>();
    try (ResultSet rs = meta.getColumns(null, like(schema, escape), like(table, escape), null)) {
      while (rs.next()) {
        if (!table.equals(rs.getString("TABLE_NAME"))
            || !schema.equals(rs.getString("TABLE_SCHEM"))) {
          continue; // another table the pattern matched
        }
        String name = rs.getString("COLUMN_NAME");
        out.put(
            name,
            new Column(
                name,
                rs.getInt("DATA_TYPE"),
                String.valueOf(rs.getString("TYPE_NAME")),
                rs.getInt("NULLABLE") == DatabaseMetaData.columnNoNulls));
      }
    }
    return out;
  }

  /**
   * The column the user means by this name: as written, else as the database folds it; null if the
   * table has none, or has one only outside the rule.
   */
  @Nullable Column column(String userName) {
    for (String candidate : spellings(userName)) {
      Column c = columns.get(candidate);
      if (c != null && IDENTIFIER.matcher(c.name()).matches()) {
        return c;
      }
    }
    return null;
  }

  /** The columns, in the table's order. */
  List<Column> columns() {
    return List.copyOf(columns.values());
  }

  /** The columns of each primary key and unique index over whole rows (no partial index). */
  List<Set<String>> uniqueKeys(Connection connection) throws SQLException {
    Map<String, Set<String>> byIndex = new LinkedHashMap<>();
    List<String> partial = new ArrayList<>();
    try (ResultSet rs = connection.getMetaData().getIndexInfo(null, schema, name, true, true)) {
      while (rs.next()) {
        String index = rs.getString("INDEX_NAME");
        String column = rs.getString("COLUMN_NAME");
        if (index == null || column == null || rs.getShort("TYPE") == 0) {
          continue; // table statistics, not an index
        }
        if (rs.getString("FILTER_CONDITION") != null) {
          partial.add(index); // unique only among the rows it covers
        }
        byIndex.computeIfAbsent(index, k -> new LinkedHashSet<>()).add(column);
      }
    }
    partial.forEach(byIndex::remove);
    return List.copyOf(byIndex.values());
  }

  /** Whether the table is a view (the catalog knows no keys of it). */
  boolean isView() {
    return type.toUpperCase(Locale.ROOT).contains("VIEW");
  }

  /** The table's name for SQL: schema and name, quoted. */
  String qualified() {
    return quote(schema) + "." + quote(name);
  }

  /** Whether a type is one of text: CHAR, VARCHAR and their national forms (not CLOB). */
  static boolean isText(int sqlType) {
    return sqlType == Types.VARCHAR
        || sqlType == Types.CHAR
        || sqlType == Types.NVARCHAR
        || sqlType == Types.NCHAR
        || sqlType == Types.LONGVARCHAR
        || sqlType == Types.LONGNVARCHAR;
  }

  @Override
  public String toString() {
    return schema + "." + name;
  }
}
