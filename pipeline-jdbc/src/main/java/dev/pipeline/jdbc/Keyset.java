package dev.pipeline.jdbc;

import dev.pipeline.SeekableSource;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The key columns of a {@link JdbcSource} and their types: how a key is read from a row, bound to
 * the next page's query, written as a position and read back from one, and shown in ids and
 * messages.
 *
 * <p>A position is {@code k=} and one part per key column, separated by ',': a letter for the type
 * and the value, in text that needs no escaping: {@code i} and the decimal integer, {@code s} and
 * the text's UTF-8 bytes in unpadded Base64url, {@code u} and the UUID, {@code t} and the timestamp
 * (ISO-8601, no zone), {@code z} and the instant (ISO-8601, UTC). Before any row was read, the
 * position is {@value #START}.
 */
final class Keyset {
  static final String START = "start";
  private static final String PREFIX = "k=";
  private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,19}");

  /** The types a key column may have. */
  enum Type {
    INTEGER('i', "an integer (SMALLINT, INTEGER, BIGINT)") {
      @Override
      @Nullable Object read(ResultSet rs, int index) throws SQLException {
        long value = rs.getLong(index);
        return rs.wasNull() ? null : value;
      }

      @Override
      void bind(PreparedStatement ps, int index, Object value) throws SQLException {
        ps.setLong(index, (Long) value);
      }

      @Override
      String encode(Object value) {
        return value.toString();
      }

      @Override
      Object decode(String text) {
        if (!Keyset.INTEGER.matcher(text).matches()) {
          throw new IllegalArgumentException("not a decimal integer");
        }
        return Long.parseLong(text); // NumberFormatException is an IllegalArgumentException
      }
    },

    TEXT('s', "text (CHAR, VARCHAR, TEXT)") {
      @Override
      @Nullable Object read(ResultSet rs, int index) throws SQLException {
        return rs.getString(index);
      }

      @Override
      void bind(PreparedStatement ps, int index, Object value) throws SQLException {
        ps.setString(index, (String) value);
      }

      @Override
      String encode(Object value) {
        return Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(((String) value).getBytes(StandardCharsets.UTF_8));
      }

      @Override
      Object decode(String text) {
        byte[] bytes = Base64.getUrlDecoder().decode(text);
        try {
          return StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
        } catch (CharacterCodingException e) {
          throw new IllegalArgumentException("not UTF-8 text in Base64url", e);
        }
      }

      @Override
      String show(Object value) {
        return Names.quote((String) value);
      }
    },

    UUID('u', "a UUID") {
      @Override
      @Nullable Object read(ResultSet rs, int index) throws SQLException {
        return rs.getObject(index, java.util.UUID.class);
      }

      @Override
      void bind(PreparedStatement ps, int index, Object value) throws SQLException {
        ps.setObject(index, value);
      }

      @Override
      String encode(Object value) {
        return value.toString();
      }

      @Override
      Object decode(String text) {
        java.util.UUID uuid = java.util.UUID.fromString(text);
        if (!uuid.toString().equals(text.toLowerCase(Locale.ROOT))) {
          throw new IllegalArgumentException("not a UUID in its canonical form");
        }
        return uuid;
      }
    },

    TIMESTAMP('t', "a TIMESTAMP (without time zone)") {
      @Override
      @Nullable Object read(ResultSet rs, int index) throws SQLException {
        return rs.getObject(index, LocalDateTime.class);
      }

      @Override
      void bind(PreparedStatement ps, int index, Object value) throws SQLException {
        ps.setObject(index, value);
      }

      @Override
      String encode(Object value) {
        return value.toString();
      }

      @Override
      Object decode(String text) {
        try {
          return LocalDateTime.parse(text);
        } catch (DateTimeParseException e) {
          throw new IllegalArgumentException("not an ISO-8601 timestamp", e);
        }
      }
    },

    TIMESTAMP_TZ('z', "a TIMESTAMP WITH TIME ZONE") {
      @Override
      @Nullable Object read(ResultSet rs, int index) throws SQLException {
        OffsetDateTime value = rs.getObject(index, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
      }

      @Override
      void bind(PreparedStatement ps, int index, Object value) throws SQLException {
        ps.setObject(
            index,
            OffsetDateTime.ofInstant((Instant) value, ZoneOffset.UTC),
            Types.TIMESTAMP_WITH_TIMEZONE);
      }

      @Override
      String encode(Object value) {
        return value.toString();
      }

      @Override
      Object decode(String text) {
        try {
          return Instant.parse(text);
        } catch (DateTimeParseException e) {
          throw new IllegalArgumentException("not an ISO-8601 instant", e);
        }
      }
    };

    private final char letter;
    private final String description;

    Type(char letter, String description) {
      this.letter = letter;
      this.description = description;
    }

    /** The key's value in this row, or null if the column is NULL there. */
    abstract @Nullable Object read(ResultSet rs, int index) throws SQLException;

    abstract void bind(PreparedStatement ps, int index, Object value) throws SQLException;

    /** The value as a position part, without the letter: no ',' in it. */
    abstract String encode(Object value);

    /**
     * A position part read back.
     *
     * @throws IllegalArgumentException if it is not one {@link #encode} gives
     */
    abstract Object decode(String text);

    /** The value as a record id shows it: its plain text. */
    String text(Object value) {
      return value.toString();
    }

    /** The value for a message: bounded, escaped. */
    String show(Object value) {
      return text(value);
    }

    String description() {
      return description;
    }

    /** The type of a column of this SQL type, or null if it cannot be a key. */
    static @Nullable Type of(int sqlType, String typeName) {
      String name = typeName.toLowerCase(Locale.ROOT);
      if (name.equals("uuid")) {
        return UUID;
      }
      if (name.equals("timestamptz") || sqlType == Types.TIMESTAMP_WITH_TIMEZONE) {
        return TIMESTAMP_TZ;
      }
      if (sqlType == Types.TIMESTAMP) {
        return TIMESTAMP;
      }
      if (sqlType == Types.BIGINT
          || sqlType == Types.INTEGER
          || sqlType == Types.SMALLINT
          || sqlType == Types.TINYINT) {
        return INTEGER;
      }
      if (SqlTable.isText(sqlType)) {
        return TEXT;
      }
      return null;
    }

    /** What types a key may have, for messages. */
    static String supported() {
      List<String> all = new ArrayList<>();
      for (Type t : values()) {
        all.add(t.description);
      }
      return String.join(", ", all);
    }
  }

  private final List<String> columns;
  private final List<Type> types;

  /**
   * @param columns the key columns as the user named them, in the order of the pages
   * @param types their types
   */
  Keyset(List<String> columns, List<Type> types) {
    this.columns = List.copyOf(columns);
    this.types = List.copyOf(types);
  }

  int size() {
    return columns.size();
  }

  List<String> columns() {
    return columns;
  }

  /** Reads the key of the current row from its first columns; null if a part of it is NULL. */
  Object @Nullable [] read(ResultSet rs) throws SQLException {
    Object[] key = new Object[types.size()];
    for (int i = 0; i < key.length; i++) {
      Object value = types.get(i).read(rs, i + 1);
      if (value == null) {
        return null;
      }
      key[i] = value;
    }
    return key;
  }

  /** Binds a key as the parameters from {@code first} on. */
  void bind(PreparedStatement ps, int first, Object[] key) throws SQLException {
    for (int i = 0; i < key.length; i++) {
      types.get(i).bind(ps, first + i, key[i]);
    }
  }

  /** The position after the row of this key. */
  String position(Object[] key) {
    StringBuilder out = new StringBuilder(PREFIX);
    for (int i = 0; i < key.length; i++) {
      out.append(i == 0 ? "" : ",").append(types.get(i).letter).append(types.get(i).encode(key[i]));
    }
    return out.toString();
  }

  /**
   * The key a position names, or null for {@value #START}.
   *
   * @throws IllegalArgumentException if it is not a position of this key, saying what was expected
   */
  Object @Nullable [] parse(String position) {
    if (position.equals(START)) {
      return null;
    }
    if (position.length() > SeekableSource.MAX_POSITION_CHARS || !position.startsWith(PREFIX)) {
      throw badPosition(position, "it does not start with '" + PREFIX + "'");
    }
    String[] parts = position.substring(PREFIX.length()).split(",", -1);
    if (parts.length != types.size()) {
      throw badPosition(
          position, "it has " + parts.length + " key values, the key has " + types.size());
    }
    Object[] key = new Object[parts.length];
    for (int i = 0; i < parts.length; i++) {
      Type type = types.get(i);
      String part = parts[i];
      if (part.isEmpty() || part.charAt(0) != type.letter) {
        throw badPosition(
            position,
            "value "
                + (i + 1)
                + " is not of the type of key column "
                + columns.get(i)
                + ", "
                + type.description
                + " (written '"
                + type.letter
                + "...')");
      }
      try {
        key[i] = type.decode(part.substring(1));
      } catch (IllegalArgumentException e) {
        throw badPosition(
            position,
            "value " + (i + 1) + " (key column " + columns.get(i) + ") is " + e.getMessage());
      }
    }
    return key;
  }

  private IllegalArgumentException badPosition(String position, String why) {
    return new IllegalArgumentException(
        "position "
            + Names.quote(position)
            + " is not one of a JdbcSource keyed by ("
            + String.join(", ", columns)
            + "): "
            + why
            + "; expected '"
            + START
            + "' or 'k=' and "
            + types.size()
            + " value(s) as position() gives them");
  }

  /**
   * The key as the default record id shows it: the value's text, or for a composite key the values
   * separated by ',' (with '\' and ',' in text escaped by '\', so two keys never share it).
   */
  String idText(Object[] key) {
    if (key.length == 1) {
      return types.get(0).text(key[0]);
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < key.length; i++) {
      String text = types.get(i).text(key[i]);
      out.append(i == 0 ? "" : ",")
          .append(
              types.get(i) == Type.TEXT ? text.replace("\\", "\\\\").replace(",", "\\,") : text);
    }
    return out.toString();
  }

  /** The key for a message: {@code id=42}, text quoted, escaped and cut. */
  String describe(Object[] key) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < key.length; i++) {
      out.append(i == 0 ? "" : ", ")
          .append(columns.get(i))
          .append('=')
          .append(types.get(i).show(key[i]));
    }
    return out.toString();
  }
}
