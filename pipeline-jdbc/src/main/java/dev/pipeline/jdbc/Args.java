package dev.pipeline.jdbc;

import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import org.jdbi.v3.core.argument.Argument;
import org.jspecify.annotations.Nullable;

/** JDBC arguments with explicit types, the same on H2 and PostgreSQL, nulls included. */
final class Args {
  private Args() {}

  static Argument text(@Nullable String value) {
    return (position, statement, ctx) -> {
      if (value == null) {
        statement.setNull(position, Types.VARCHAR);
      } else {
        statement.setString(position, value);
      }
    };
  }

  static Argument bytes(byte @Nullable [] value) {
    return (position, statement, ctx) -> {
      if (value == null) {
        statement.setNull(position, Types.VARBINARY);
      } else {
        statement.setBytes(position, value);
      }
    };
  }

  static Argument int64(@Nullable Long value) {
    return (position, statement, ctx) -> {
      if (value == null) {
        statement.setNull(position, Types.BIGINT);
      } else {
        statement.setLong(position, value);
      }
    };
  }

  static Argument int32(@Nullable Integer value) {
    return (position, statement, ctx) -> {
      if (value == null) {
        statement.setNull(position, Types.INTEGER);
      } else {
        statement.setInt(position, value);
      }
    };
  }

  static Argument float64(@Nullable Double value) {
    return (position, statement, ctx) -> {
      if (value == null) {
        statement.setNull(position, Types.DOUBLE);
      } else {
        statement.setDouble(position, value);
      }
    };
  }

  /** A point in time, as TIMESTAMP WITH TIME ZONE at UTC. */
  static Argument time(@Nullable Instant value) {
    return (position, statement, ctx) -> {
      if (value == null) {
        statement.setNull(position, Types.TIMESTAMP_WITH_TIMEZONE);
      } else {
        statement.setObject(
            position,
            OffsetDateTime.ofInstant(value, ZoneOffset.UTC),
            Types.TIMESTAMP_WITH_TIMEZONE);
      }
    };
  }

  /** An array of strings, for {@code = ANY(:ids)}. */
  static Argument texts(Collection<String> values) {
    String[] array = values.toArray(String[]::new);
    return (position, statement, ctx) ->
        statement.setArray(position, statement.getConnection().createArrayOf("varchar", array));
  }

  /**
   * An array of a SQL type ({@code "varchar"}, {@code "int4"}, {@code "int8"}), for one column of
   * an UNNEST; elements may be null.
   */
  static Argument array(String type, Object[] values) {
    return (position, statement, ctx) ->
        statement.setArray(position, statement.getConnection().createArrayOf(type, values));
  }

  /**
   * A point in time as text for an array of them (to microseconds, as the database keeps it), read
   * back with a cast to TIMESTAMP WITH TIME ZONE.
   */
  static String timeText(Instant value) {
    return value.truncatedTo(ChronoUnit.MICROS).toString();
  }

  /** Reads a TIMESTAMP WITH TIME ZONE column. */
  static @Nullable Instant instant(java.sql.ResultSet rs, String column)
      throws java.sql.SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}
