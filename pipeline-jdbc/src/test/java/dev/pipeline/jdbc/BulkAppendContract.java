package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.store.StorableText;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@link BulkAppend} against a real database: every value comes back as it was given, whatever its
 * characters, on each strategy of the dialect; run against H2 and PostgreSQL by the subclasses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BulkAppendContract {
  private static final Instant AT = Instant.parse("2026-12-06T10:00:00.123456789Z");

  /** Text COPY's format and SQL treat specially, and text a database refuses. */
  static final List<@Nullable String> HOSTILE =
      Arrays.asList(
          "plain",
          "",
          null,
          "\\N",
          "\\.",
          "ends with a backslash\\",
          "back\\slash \\\\ twice",
          "tab\there",
          "new\nline",
          "carriage\rreturn",
          "'; DROP TABLE x; --",
          "quote \" and comma, and |pipe|",
          "emoji \uD83D\uDE00 and é",
          "\\u0000 written as text",
          "nul\u0000inside",
          "lone \uD800 surrogate",
          "x".repeat(2_000),
          // 9,000 bytes of UTF-8 in two, three and four bytes a character: past COPY's first buffer
          "\u00E9\u20AC\uD83D\uDE00".repeat(1_000));

  private TestDatabase database;
  private Jdbi jdbi;
  private String table;
  private int run;

  abstract TestDatabase createDatabase();

  @BeforeAll
  void createTable() {
    database = createDatabase();
    jdbi = Jdbi.create(database.url);
    table = database.table("bulk_rows");
    jdbi.useHandle(
        h -> {
          h.execute("CREATE SCHEMA IF NOT EXISTS " + database.schema);
          h.execute(
              "CREATE TABLE "
                  + table
                  + " (run INTEGER NOT NULL, seq INTEGER NOT NULL, label VARCHAR(4000),"
                  + " amount BIGINT, ratio DOUBLE PRECISION, at TIMESTAMP WITH TIME ZONE, data BYTEA)");
        });
  }

  @AfterAll
  void dropSchema() {
    if (database != null) {
      database.drop();
    }
  }

  private BulkAppend rows() {
    return columns(BulkAppend.into(database.postgres ? Dialect.POSTGRESQL : Dialect.H2, table))
        .build();
  }

  private static BulkAppend.Builder columns(BulkAppend.Builder builder) {
    return builder
        .column("run", BulkAppend.Type.INT)
        .column("seq", BulkAppend.Type.INT)
        .column("label", BulkAppend.Type.TEXT)
        .column("amount", BulkAppend.Type.BIGINT)
        .column("ratio", BulkAppend.Type.DOUBLE)
        .column("at", BulkAppend.Type.TIME)
        .column("data", BulkAppend.Type.BYTES);
  }

  /**
   * The bytes of row {@code i}: none for every sixth, else bytes COPY's text format would misread
   * if sent raw (NUL, backslash, tab, newline, high bit), longer with each row.
   */
  private static byte @Nullable [] data(int i) {
    if (i % 6 == 0) {
      return null;
    }
    byte[] out = new byte[i * 37];
    byte[] odd = {0, '\\', '\t', '\n', '\r', (byte) 0xFF, (byte) 0x80, 'N'};
    for (int k = 0; k < out.length; k++) {
      out[k] = k < odd.length ? odd[k] : (byte) (k * 31 + i);
    }
    return out;
  }

  private record Item(
      int seq, @Nullable String label, @Nullable Long amount, @Nullable Double ratio) {}

  private static List<Item> items() {
    List<Item> items = new ArrayList<>();
    for (int i = 0; i < HOSTILE.size(); i++) {
      items.add(
          new Item(
              i,
              HOSTILE.get(i),
              i % 4 == 0 ? null : i % 2 == 0 ? Long.MIN_VALUE : Long.MAX_VALUE - i,
              i % 3 == 0 ? null : i * 1.25e-7));
    }
    return items;
  }

  /** Writes an item as a row of the run; every fifth has no time. */
  private static BulkAppend.RowWriter<Item> writer(int run) {
    return (item, row) ->
        row.int32(run)
            .int32(item.seq())
            .text(item.label())
            .int64(item.amount())
            .float64(item.ratio())
            .time(item.seq() % 5 == 0 ? null : AT)
            .bytes(data(item.seq()));
  }

  /** Appends the items in a run of their own, on a connection made by {@code connect}; the run. */
  private int append(Handle h) throws SQLException {
    int mine = ++run;
    int n = rows().append(h, items(), writer(mine));
    assertThat(n).isEqualTo(HOSTILE.size());
    return mine;
  }

  private void assertReadBack(int run) {
    List<List<Object>> back =
        database.query(
            "SELECT seq, label, amount, ratio, at, data FROM "
                + table
                + " WHERE run = ? ORDER BY seq",
            run);
    assertThat(back).hasSize(HOSTILE.size());
    List<Item> expected = items();
    for (int i = 0; i < back.size(); i++) {
      List<Object> row = back.get(i);
      Item item = expected.get(i);
      String label = item.label();
      boolean refused = label != null && (label.indexOf('\0') >= 0 || label.contains("\uD800 "));
      assertThat(row.get(1))
          .as("label %d", i)
          .isEqualTo(refused ? StorableText.escape(label) : label);
      assertThat(row.get(2) == null ? null : ((Number) row.get(2)).longValue())
          .isEqualTo(item.amount());
      assertThat(row.get(3) == null ? null : ((Number) row.get(3)).doubleValue())
          .isEqualTo(item.ratio());
      Instant at = instant(row.get(4));
      assertThat(at).isEqualTo(i % 5 == 0 ? null : Instant.parse("2026-12-06T10:00:00.123456Z"));
      assertThat((byte[]) row.get(5)).as("data %d", i).isEqualTo(data(i));
    }
  }

  private static @Nullable Instant instant(@Nullable Object value) {
    return switch (value) {
      case null -> null;
      case OffsetDateTime t -> t.toInstant();
      case java.sql.Timestamp t -> t.toInstant();
      default -> Instant.parse(value.toString());
    };
  }

  @Test
  void everyValueComesBackAsGivenAndANulDoesNotFailTheRows() throws SQLException {
    int mine = jdbi.withHandle(this::append);
    assertReadBack(mine);
  }

  @Test
  void aLazyCommitAppendsTheRowsAndLeavesTheSessionsSettingAsItWas() throws SQLException {
    BulkAppend lazy =
        columns(BulkAppend.into(database.postgres ? Dialect.POSTGRESQL : Dialect.H2, table))
            .lazyCommit()
            .build();
    int mine = ++run;
    try (Handle h = jdbi.open()) {
      assertThat(lazy.append(h, items(), writer(mine))).isEqualTo(HOSTILE.size());
      if (database.postgres) {
        assertThat(h.createQuery("SHOW synchronous_commit").mapTo(String.class).one())
            .as("SET LOCAL, for the append's transaction only")
            .isEqualTo("on");
      }
    }
    assertReadBack(mine);
  }

  @Test
  void aConnectionThatHidesTheDriverAppendsTheSameRowsInAJdbcBatch() throws Exception {
    try (Connection real = database.connect()) {
      Connection hiding =
          (Connection)
              Proxy.newProxyInstance(
                  Connection.class.getClassLoader(),
                  new Class<?>[] {Connection.class},
                  (proxy, method, args) -> {
                    if (method.getName().equals("isWrapperFor")) {
                      return false;
                    }
                    try {
                      return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                      throw e.getCause();
                    }
                  });
      int mine;
      try (Handle h = Jdbi.open(hiding)) {
        mine = append(h);
      }
      assertReadBack(mine);
    }
  }

  @Test
  void aRowWithTooFewOrTooManyValuesIsRefusedAndNothingIsAppended() {
    BulkAppend rows = rows();
    int before = count();
    assertThatThrownBy(
            () ->
                jdbi.useHandle(
                    h ->
                        rows.append(
                            h, List.of(1, 2), (i, row) -> row.int32(99).int32(i).text("short"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("3 values for 7 columns");
    assertThatThrownBy(
            () ->
                jdbi.useHandle(
                    h -> rows.append(h, List.of(1), (i, row) -> row.int32(99).text("wrong type"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is TEXT, the column is INT");
    assertThat(count()).isEqualTo(before);
  }

  @Test
  void rowsUnnestedIntoAStatementComeBackAsGiven() throws SQLException {
    BulkAppend rows = rows();
    int mine = ++run;
    jdbi.useHandle(
        h -> {
          var insert =
              h.createUpdate(
                  "INSERT INTO "
                      + table
                      + " (run, seq, label, amount, ratio, at, data) SELECT r, s, l, a, x,"
                      + " CAST(t AS TIMESTAMP WITH TIME ZONE), d FROM "
                      + rows.unnest("c")
                      + " AS u(r, s, l, a, x, t, d)");
          rows.bindRows(insert, "c", items(), writer(mine));
          assertThat(insert.execute()).isEqualTo(HOSTILE.size());
        });
    assertReadBack(mine);
  }

  private int count() {
    return (int) database.count("SELECT COUNT(*) FROM " + table);
  }
}
