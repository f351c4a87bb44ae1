package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * What a {@link JdbcSource} must do, whatever the database: run against H2 and against PostgreSQL
 * by the subclasses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class JdbcSourceContract {
  private JdbcTables tables;
  private String items;

  abstract TestDatabase createDatabase();

  @BeforeAll
  void createSchema() {
    tables = new JdbcTables(createDatabase());
  }

  @AfterAll
  void dropSchema() {
    if (tables != null) {
      tables.close();
    }
  }

  /** A table of items of its own for each test, id 1..n. */
  @BeforeEach
  void name(TestInfo info) {
    items = tables.table("items_" + Math.abs(info.getDisplayName().hashCode()));
  }

  private void createItems(int n) {
    tables.execute(
        "CREATE TABLE "
            + items
            + " (id BIGINT NOT NULL PRIMARY KEY, title VARCHAR(100) NOT NULL, qty INTEGER)");
    insertItems(IntStream.rangeClosed(1, n).boxed().toList());
  }

  private void insertItems(List<Integer> ids) {
    tables.insert(
        "INSERT INTO " + items + " (id, title, qty) VALUES (?, ?, ?)",
        ids.stream().map(i -> List.<Object>of((long) i, "item " + i, i % 7)).toList());
  }

  private JdbcSource.Builder<String> itemSource(javax.sql.DataSource dataSource) {
    return JdbcSource.<String>builder(
            "items", dataSource, row -> row.getString("title") + "/" + row.getInt("qty"))
        .table(items)
        .keyColumns("id")
        .unmappableAs(key -> "unmappable " + key);
  }

  private static <T> List<Envelope<T>> readAll(SeekableSource<T> source) throws Exception {
    List<Envelope<T>> out = new ArrayList<>();
    for (Envelope<T> e = source.next(); e != null; e = source.next()) {
      out.add(e);
    }
    return out;
  }

  private static <T> List<Envelope<T>> read(SeekableSource<T> source, int n) throws Exception {
    List<Envelope<T>> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Envelope<T> e = source.next();
      assertThat(e).as("record %d of %d", i + 1, n).isNotNull();
      out.add(e);
    }
    return out;
  }

  private static List<String> ids(List<? extends Envelope<?>> records) {
    return records.stream().map(Envelope::id).toList();
  }

  /**
   * A table of 3,000 rows read whole, in key order, in pages of 128: one connection per page, none
   * held while the caller has a record, and no query after a short page.
   */
  @Test
  void readsAWholeTableInPagesHoldingNoConnectionBetweenThem() throws Exception {
    createItems(3_000);
    CountingDataSource counting = new CountingDataSource(tables.pool);
    JdbcSource<String> source = itemSource(counting).pageSize(128).build();
    int afterBuild = counting.taken.get();

    List<Envelope<String>> all = new ArrayList<>();
    for (Envelope<String> e = source.next(); e != null; e = source.next()) {
      assertThat(counting.open.get()).as("connections open while the caller has a record").isZero();
      all.add(e);
    }

    assertThat(ids(all))
        .containsExactlyElementsOf(
            IntStream.rangeClosed(1, 3_000).mapToObj(i -> "items-" + i).toList());
    assertThat(all.get(41).payload()).isEqualTo("item 42/0");
    assertThat(all.get(41).sourceId()).isEqualTo("items");
    assertThat(all.get(41).metadata()).doesNotContainKey(Envelope.SOURCE_ERROR);
    assertThat(counting.taken.get() - afterBuild).as("pages read").isEqualTo(24); // 23 x 128 + 56
    assertThat(source.next()).as("still exhausted").isNull();
    assertThat(source.position()).isEqualTo("k=i3000");
  }

  /** A page that ends the table exactly is followed by one more query, which finds nothing. */
  @Test
  void aTableThatFillsItsLastPageExactlyEndsWithAnEmptyPage() throws Exception {
    createItems(256);
    CountingDataSource counting = new CountingDataSource(tables.pool);
    JdbcSource<String> source = itemSource(counting).pageSize(128).build();
    int afterBuild = counting.taken.get();

    assertThat(readAll(source)).hasSize(256);
    assertThat(counting.taken.get() - afterBuild).isEqualTo(3);
  }

  /**
   * Read part, take the position, and a new source seeks to it and reads the rest: together they
   * are one whole read, with the same ids.
   */
  @Test
  void aSourceSeekingToAnotherSPositionReadsTheRestAndTogetherTheyAreOneWholeRead()
      throws Exception {
    createItems(2_000);
    List<Envelope<String>> whole = readAll(itemSource(tables.pool).pageSize(100).build());

    JdbcSource<String> first = itemSource(tables.pool).pageSize(100).build();
    assertThat(first.position()).isEqualTo("start");
    List<Envelope<String>> part = read(first, 1_234);
    String position = first.position();
    assertThat(position).isEqualTo("k=i1234");
    first.close();

    JdbcSource<String> second = itemSource(tables.pool).pageSize(100).build();
    second.seek(position);
    assertThat(second.position()).isEqualTo(position);
    List<Envelope<String>> rest = readAll(second);

    List<Envelope<String>> together = new ArrayList<>(part);
    together.addAll(rest);
    assertThat(together).containsExactlyElementsOf(whole);

    JdbcSource<String> fromStart = itemSource(tables.pool).build();
    fromStart.seek("start");
    assertThat(readAll(fromStart)).containsExactlyElementsOf(whole);
  }

  /**
   * Keyset semantics: rows inserted behind the position are not read by a source that seeks to it;
   * rows inserted past it are, as are rows inserted past the position while a source reads (each
   * page is a transaction of its own).
   */
  @Test
  void rowsInsertedBehindThePositionAreNotReadAndRowsPastItAre() throws Exception {
    tables.execute(
        "CREATE TABLE " + items + " (id BIGINT NOT NULL PRIMARY KEY, title VARCHAR(100), qty INT)");
    insertItems(IntStream.rangeClosed(1, 500).map(i -> 2 * i).boxed().toList()); // 2, 4, .., 1000
    JdbcSource<String> first = itemSource(tables.pool).pageSize(50).build();
    read(first, 200); // up to id 400
    String position = first.position();
    assertThat(position).isEqualTo("k=i400");

    insertItems(List.of(1, 3, 399, 401, 999)); // behind and past the position
    JdbcSource<String> second = itemSource(tables.pool).pageSize(50).build();
    second.seek(position);
    List<String> read = new ArrayList<>(ids(read(second, 10))); // 401, 402, .. 410
    insertItems(List.of(405, 1001)); // 405 is behind by now, 1001 past
    read.addAll(ids(readAll(second)));

    assertThat(read)
        .doesNotContain("items-1", "items-3", "items-399", "items-400", "items-405")
        .contains("items-401", "items-999", "items-1001")
        .doesNotHaveDuplicates()
        .hasSize(300 + 3);
  }

  /**
   * A composite key (text, integer) read as a row value: in the database's key order, in pages that
   * split rows of one region, with ids that keep text with ',' and '\' apart, and a seek round
   * trip.
   */
  @Test
  void aCompositeKeyIsReadInKeyOrderAndSeeksBack() throws Exception {
    String events = items + "_ev";
    tables.execute(
        "CREATE TABLE "
            + events
            + " (region VARCHAR(40) NOT NULL, seq BIGINT NOT NULL, body VARCHAR(40),"
            + " PRIMARY KEY (region, seq))");
    List<String> regions = List.of("north", "south", "a,b", "a", "b\\,c", "zürich", "ünïcode");
    List<List<Object>> rows = new ArrayList<>();
    for (String region : regions) {
      for (long seq = 1; seq <= 30; seq++) {
        rows.add(List.of(region, seq, region + "#" + seq));
      }
    }
    tables.insert("INSERT INTO " + events + " (region, seq, body) VALUES (?, ?, ?)", rows);
    List<String> expected =
        tables.query("SELECT region, seq FROM " + events + " ORDER BY region, seq").stream()
            .map(r -> r.get(0) + "#" + r.get(1))
            .toList();

    JdbcSource.Builder<String> builder =
        JdbcSource.<String>builder("ev", tables.pool, row -> row.getString("body"))
            .table(events)
            .keyColumns("region", "seq")
            .pageSize(7)
            .unmappableAs(key -> key);
    List<Envelope<String>> whole = readAll(builder.build());
    assertThat(whole).extracting(Envelope::payload).containsExactlyElementsOf(expected);
    assertThat(ids(whole))
        .contains("ev-a\\,b,3", "ev-b\\\\\\,c,30", "ev-zürich,1")
        .doesNotHaveDuplicates();

    JdbcSource<String> first =
        JdbcSource.<String>builder("ev", tables.pool, row -> row.getString("body"))
            .table(events)
            .keyColumns("region", "seq")
            .pageSize(7)
            .unmappableAs(key -> key)
            .build();
    List<Envelope<String>> part = read(first, 100);
    String position = first.position();
    assertThat(position).matches("k=s[A-Za-z0-9_-]+,i[0-9]+");
    JdbcSource<String> second =
        JdbcSource.<String>builder("ev", tables.pool, row -> row.getString("body"))
            .table(events)
            .keyColumns("region", "seq")
            .unmappableAs(key -> key)
            .build();
    second.seek(position);
    List<Envelope<String>> together = new ArrayList<>(part);
    together.addAll(readAll(second));
    assertThat(together).containsExactlyElementsOf(whole);
  }

  /** Timestamps with and without a time zone and UUIDs page and seek as keys. */
  @Test
  void timestampAndUuidKeysPageAndSeek() throws Exception {
    String changes = items + "_ch";
    tables.execute(
        "CREATE TABLE "
            + changes
            + " (changed_at TIMESTAMP WITH TIME ZONE NOT NULL, local_at TIMESTAMP NOT NULL,"
            + " id UUID NOT NULL, PRIMARY KEY (changed_at, local_at, id))");
    Instant t0 = Instant.parse("2026-03-01T10:15:30.123456Z");
    List<List<Object>> rows = new ArrayList<>();
    for (int i = 0; i < 90; i++) {
      rows.add(
          List.of(
              java.time.OffsetDateTime.ofInstant(t0.plusSeconds(i / 10), java.time.ZoneOffset.UTC),
              LocalDateTime.of(2026, 1, 1, 0, 0).plusNanos(1_000L * (i % 3)),
              new UUID(i, i * 31L)));
    }
    tables.insert("INSERT INTO " + changes + " (changed_at, local_at, id) VALUES (?, ?, ?)", rows);

    List<Envelope<String>> whole = readAll(changeSource(changes).build());
    assertThat(whole).hasSize(90);
    assertThat(whole.get(0).id())
        .isEqualTo("ch-2026-03-01T10:15:30.123456Z,2026-01-01T00:00," + new UUID(0, 0));

    JdbcSource<String> first = changeSource(changes).build();
    List<Envelope<String>> part = read(first, 41);
    String position = first.position();
    assertThat(position).matches("k=z[^,]+,t[^,]+,u[0-9a-f-]{36}");
    JdbcSource<String> second = changeSource(changes).build();
    second.seek(position);
    List<Envelope<String>> together = new ArrayList<>(part);
    together.addAll(readAll(second));
    assertThat(together).containsExactlyElementsOf(whole);
  }

  private JdbcSource.Builder<String> changeSource(String changes) {
    return JdbcSource.<String>builder("ch", tables.pool, row -> row.getString("id"))
        .table(changes)
        .keyColumns("changed_at", "local_at", "id")
        .pageSize(8)
        .unmappableAs(key -> key);
  }

  /**
   * A row the mapper throws on (or maps to null) is one record marked SOURCE_ERROR, naming its key
   * and the error (escaped, cut), with the payload made of its key; reading goes on.
   */
  @Test
  void aRowTheMapperThrowsOnIsOneSourceErrorRecordAndReadingGoesOn() throws Exception {
    createItems(60);
    JdbcSource<String> source =
        JdbcSource.<String>builder(
                "items",
                tables.pool,
                row -> {
                  long id = row.getLong("id");
                  if (id == 17) {
                    throw new IllegalStateException("bad\nrow " + "x".repeat(10_000));
                  }
                  if (id == 18) {
                    row.getString("no_such_column"); // an SQLException
                  }
                  if (id == 21) {
                    // its getMessage() threw out of the source, which stopped reading there
                    throw new IllegalStateException() {
                      @Override
                      public String getMessage() {
                        throw new UnsupportedOperationException("hostile");
                      }
                    };
                  }
                  return id == 19 ? null : row.getString("title");
                })
            .table(items)
            .keyColumns("id")
            .pageSize(16)
            .unmappableAs(key -> "unmappable " + key)
            .build();

    List<Envelope<String>> all = readAll(source);

    assertThat(all).hasSize(60);
    assertThat(all.get(15).payload()).isEqualTo("item 16");
    Envelope<String> bad = all.get(16);
    assertThat(bad.id()).isEqualTo("items-17");
    assertThat(bad.payload()).isEqualTo("unmappable id=17");
    String error = bad.metadata().get(Envelope.SOURCE_ERROR);
    assertThat(error)
        .contains("row (id=17) of table", "IllegalStateException", "bad\\nrow xxx", "cut")
        .doesNotContain("\n")
        .hasSizeLessThan(Envelope.MAX_SOURCE_ERROR);
    assertThat(all.get(17).metadata().get(Envelope.SOURCE_ERROR))
        .contains("id=18", "no_such_column");
    assertThat(all.get(18).metadata().get(Envelope.SOURCE_ERROR))
        .contains("id=19", "the mapper returned null");
    assertThat(all.get(19).payload()).isEqualTo("item 20");
    assertThat(all.get(20).metadata().get(Envelope.SOURCE_ERROR))
        .contains("id=21", "[getMessage() threw java.lang.UnsupportedOperationException]");
    assertThat(all.stream().filter(e -> e.metadata().containsKey(Envelope.SOURCE_ERROR)))
        .hasSize(4);
  }

  /** Columns named by reserved words ("key", "value") work: names go into SQL quoted. */
  @Test
  void columnsNamedByReservedWordsAreRead() throws Exception {
    String kv = items + "_kv";
    String key = tables.folded("key");
    String value = tables.folded("value");
    tables.execute(
        "CREATE TABLE "
            + kv
            + " (\""
            + key
            + "\" VARCHAR(20) NOT NULL PRIMARY KEY, \""
            + value
            + "\" VARCHAR(20))");
    tables.insert(
        "INSERT INTO " + kv + " VALUES (?, ?)",
        List.of(List.of("b", "2"), List.of("a", "1"), List.of("c", "3")));
    JdbcSource<String> source =
        JdbcSource.<String>builder("kv", tables.pool, row -> row.getString(2))
            .table(kv)
            .keyColumns("key")
            .columns("value")
            .pageSize(2)
            .unmappableAs(k -> k)
            .build();

    List<Envelope<String>> all = readAll(source);

    assertThat(ids(all)).containsExactly("kv-a", "kv-b", "kv-c");
    assertThat(all).extracting(Envelope::payload).containsExactly("1", "2", "3");
    assertThat(source.position()).isEqualTo("k=sYw"); // "c"
  }

  /** A view is how a query is read: its rows, in its key's order. */
  @Test
  void aViewIsReadAsATable() throws Exception {
    createItems(100);
    String view = items + "_v";
    tables.execute("CREATE VIEW " + view + " AS SELECT id, title FROM " + items + " WHERE qty = 3");
    JdbcSource<String> source =
        JdbcSource.<String>builder("v", tables.pool, row -> row.getString("title"))
            .table(view)
            .keyColumns("id")
            .pageSize(5)
            .unmappableAs(k -> k)
            .build();

    assertThat(readAll(source))
        .extracting(Envelope::payload)
        .containsExactlyElementsOf(
            IntStream.rangeClosed(1, 100)
                .filter(i -> i % 7 == 3)
                .mapToObj(i -> "item " + i)
                .toList());
  }

  /** A recordId function makes the ids from the key. */
  @Test
  void aRecordIdFunctionMakesTheIdsFromTheKey() throws Exception {
    createItems(3);
    JdbcSource<String> source =
        itemSource(tables.pool).recordId(key -> "item:" + key.get(0)).build();

    assertThat(ids(readAll(source))).containsExactly("item:1", "item:2", "item:3");
  }

  /** Names are matched as the database folds them: ITEMS and items name one table. */
  @Test
  void namesAreMatchedAsTheDatabaseFoldsThem() throws Exception {
    createItems(2);
    JdbcSource<String> source =
        JdbcSource.<String>builder("items", tables.pool, row -> row.getString("TITLE"))
            .table(items.toUpperCase(java.util.Locale.ROOT))
            .keyColumns("Id")
            .unmappableAs(k -> k)
            .build();

    assertThat(readAll(source)).extracting(Envelope::payload).containsExactly("item 1", "item 2");
  }

  /** What the database holds is checked at build, every problem listed with its fix. */
  @Test
  void buildListsEveryProblemOfTheTable() {
    String loose = items + "_loose";
    tables.execute(
        "CREATE TABLE " + loose + " (id BIGINT, score DOUBLE PRECISION NOT NULL, flag BOOLEAN)");

    assertThatThrownBy(
            () ->
                JdbcSource.<String>builder("l", tables.pool, row -> "x")
                    .table(loose)
                    .keyColumns("id", "score")
                    .columns("flag", "missing")
                    .unmappableAs(k -> k)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("4 problems")
        .hasMessageContaining("key column " + tables.folded("id") + " may be NULL")
        .hasMessageContaining("a key column must be an integer")
        .hasMessageContaining("column missing is not a column")
        .hasMessageContaining("CREATE UNIQUE INDEX");
    assertThatThrownBy(
            () ->
                JdbcSource.<String>builder("l", tables.pool, row -> "x")
                    .table(loose)
                    .keyColumns("nope")
                    .unmappableAs(k -> k)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("key column nope is not a column");
    assertThatThrownBy(
            () ->
                JdbcSource.<String>builder("l", tables.pool, row -> "x")
                    .table(tables.table("no_such_table"))
                    .keyColumns("id")
                    .unmappableAs(k -> k)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("there is no table or view");
    assertThatThrownBy(
            () ->
                JdbcSource.<String>builder("l", tables.pool, row -> "x")
                    .table("no_such_schema.t")
                    .keyColumns("id")
                    .unmappableAs(k -> k)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("there is no table or view no_such_schema.t");
  }

  /**
   * A key that may repeat (no unique index within it) is refused: pages would skip rows. A unique
   * index on it makes it a key.
   */
  @Test
  void aKeyNoUniqueIndexCoversIsRefused() {
    createItems(3);
    assertThatThrownBy(
            () ->
                JdbcSource.<String>builder("l", tables.pool, row -> "x")
                    .table(items)
                    .keyColumns("title")
                    .unmappableAs(k -> k)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("1 problem")
        .hasMessageContaining("no primary key or unique index");
    tables.execute("ALTER TABLE " + items + " ADD UNIQUE (title)");

    assertThat(
            JdbcSource.<String>builder("l", tables.pool, row -> "x")
                .table(items)
                .keyColumns("title")
                .unmappableAs(k -> k)
                .build())
        .isNotNull();
  }

  /** Positions of another key, or not positions at all, are refused with a bounded message. */
  @Test
  void seekRefusesWhatIsNotAPositionOfThisKey() throws Exception {
    createItems(5);
    JdbcSource<String> source = itemSource(tables.pool).build();
    for (String bad :
        List.of(
            "k=i1,i2",
            "k=s" + "YQ",
            "k=i",
            "k=i99999999999999999999",
            "nope",
            "k=",
            "",
            "k=i1\n")) {
      assertThatThrownBy(() -> source.seek(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("is not one of a JdbcSource keyed by (");
    }
    String huge = "k=i" + "9".repeat(100_000);
    assertThatThrownBy(() -> source.seek(huge))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .hasSizeLessThan(600);
    source.seek("k=i3");
    assertThat(readAll(source)).extracting(Envelope::id).containsExactly("items-4", "items-5");
    assertThatThrownBy(() -> source.seek("k=i1"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already read");
  }

  /** A page that cannot be read fails the source, naming the table and the position. */
  @Test
  void aPageThatCannotBeReadFailsTheSourceNamingTableAndPosition() throws Exception {
    createItems(10);
    JdbcSource<String> source = itemSource(tables.pool).pageSize(4).build();
    read(source, 4);
    tables.execute("DROP TABLE " + items);

    assertThatThrownBy(source::next)
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("source 'items' could not read the page of table")
        .hasMessageContaining("after position 'k=i4'");
  }

  /** A closed source reads no more. */
  @Test
  void aClosedSourceReadsNoMore() throws Exception {
    createItems(3);
    JdbcSource<String> source = itemSource(tables.pool).build();
    source.next();
    source.close();

    assertThatThrownBy(source::next).isInstanceOf(IllegalStateException.class);
  }
}
