package dev.pipeline.quality;

import java.sql.SQLException;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** The names of pipeline-jdbc's tables that this module reads: checked schema and prefix. */
final class TableNames {
  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,30}");

  private TableNames() {}

  /**
   * {@code value}, checked as a schema or table prefix.
   *
   * @throws IllegalArgumentException unless it is [a-z_][a-z0-9_]{0,30}
   */
  static String identifier(String what, String value) {
    Objects.requireNonNull(value, what + " cannot be null");
    if (!IDENTIFIER.matcher(value).matches()) {
      throw new IllegalArgumentException(
          what
              + " '"
              + QualityText.bounded(value, 40)
              + "' is not a valid identifier: use [a-z_][a-z0-9_]{0,30}, as for the store");
    }
    return value;
  }

  /** A table's name with its schema and prefix, both already checked. */
  static String qualified(@Nullable String schema, String prefix, String table) {
    return (schema == null ? "" : schema + ".") + prefix + table;
  }

  /**
   * The error of a failed statement on {@code table}: what was done, the database's message
   * (bounded) and SQL state, and the schema version the table needs.
   */
  static IllegalStateException failure(String what, String table, int version, SQLException e) {
    return new IllegalStateException(
        "could not "
            + what
            + " in "
            + table
            + ": "
            + QualityText.bounded(e.getMessage(), 300)
            + " (SQL state "
            + e.getSQLState()
            + "); does the database hold pipeline-jdbc's schema, version "
            + version
            + " or later?",
        e);
  }
}
