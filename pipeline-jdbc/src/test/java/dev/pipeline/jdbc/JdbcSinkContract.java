package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.StageName;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * What a {@link JdbcSink} must do, whatever the database, and a whole pipeline from a {@link
 * JdbcSource} to it on the {@link JdbcPipelineStore}: run against H2 and against PostgreSQL by the
 * subclasses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class JdbcSinkContract {
  record Item(long id, String title, int qty) {}

  enum Grade {
    GOOD,
    BAD
  }

  record Priced(String name, @Nullable BigDecimal price, Instant at, LocalDate day, Grade grade) {}

  private JdbcTables tables;
  private String target;
  private String name;

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

  @BeforeEach
  void name(TestInfo info) {
    name = info.getTestMethod().orElseThrow().getName();
    target = tables.table("out_" + Math.abs(name.hashCode()));
  }

  /** The example of {@link JdbcSink}'s javadoc. */
  private JdbcSink<Item> itemSink() {
    return JdbcSink.builder(tables.pool, target, Item.class)
        .column("title", "VARCHAR(100)", Item::title)
        .column("qty", "INTEGER", Item::qty)
        .createTable()
        .build();
  }

  private static Envelope<Item> item(long id, String title, @Nullable Long token) {
    Envelope<Item> e = Envelope.of("item-" + id, new Item(id, title, (int) id % 5));
    return token == null ? e : e.withMetadata(Envelope.FENCING_TOKEN, Long.toString(token));
  }

  /** record_id -> [fencing_token, title] */
  private Map<String, List<Object>> rows() {
    Map<String, List<Object>> out = new TreeMap<>();
    for (List<Object> row : tables.query("SELECT record_id, fencing_token, title FROM " + target)) {
      out.put((String) row.get(0), List.of(((Number) row.get(1)).longValue(), row.get(2)));
    }
    return out;
  }

  /** Records without a token are upserted by id as token 0: the last write wins. */
  @Test
  void recordsAreUpsertedByTheirIdAndThoseWithoutATokenCountAsZero() throws Exception {
    JdbcSink<Item> sink = itemSink();

    sink.publish(IntStream.range(0, 100).mapToObj(i -> item(i, "first " + i, null)).toList());
    sink.publish(IntStream.range(50, 150).mapToObj(i -> item(i, "second " + i, null)).toList());

    Map<String, List<Object>> rows = rows();
    assertThat(rows).hasSize(150);
    assertThat(rows.get("item-10")).containsExactly(0L, "first 10");
    assertThat(rows.get("item-60")).containsExactly(0L, "second 60");
    assertThat(rows.get("item-140")).containsExactly(0L, "second 140");
    assertThat(sink.refusedWrites()).isZero();
  }

  /** A redelivery with the same token writes the same row again: idempotent. */
  @Test
  void aRewriteWithTheSameTokenIsIdempotent() throws Exception {
    JdbcSink<Item> sink = itemSink();
    List<Envelope<Item>> batch = List.of(item(1, "one", 5L), item(2, "two", 6L));

    sink.publish(batch);
    Map<String, List<Object>> once = rows();
    sink.publish(batch);
    sink.publish(batch.reversed());

    assertThat(rows()).isEqualTo(once).hasSize(2);
    assertThat(once.get("item-1")).containsExactly(5L, "one");
    assertThat(sink.refusedWrites()).isZero();
  }

  /**
   * A stale worker (lower token) does not overwrite what a newer holder wrote; a higher token does;
   * the other records of the stale batch are written.
   */
  @Test
  void aLowerTokenDoesNotOverwriteAHigherOneAndAHigherOneDoes() throws Exception {
    JdbcSink<Item> sink = itemSink();
    sink.publish(List.of(item(1, "newer holder", 7L)));

    sink.publish(List.of(item(1, "stale worker", 3L), item(2, "fresh", 3L)));
    assertThat(rows().get("item-1")).containsExactly(7L, "newer holder");
    assertThat(rows().get("item-2")).containsExactly(3L, "fresh");
    assertThat(sink.refusedWrites()).isOne();

    sink.publish(List.of(item(1, "no token", null)));
    assertThat(rows().get("item-1")).containsExactly(7L, "newer holder");

    sink.publish(List.of(item(1, "newest holder", 9L)));
    assertThat(rows().get("item-1")).containsExactly(9L, "newest holder");
    assertThat(sink.refusedWrites()).isEqualTo(2);
  }

  /**
   * Writers of the same new ids at once, each with its own token, in their own orders: each row
   * ends with the highest token's values (on H2, inserts of one id that collide are run again).
   */
  @Test
  void concurrentWritersOfTheSameIdsLeaveTheHighestTokensRows() throws Exception {
    JdbcSink<Item> sink = itemSink();
    int writers = 6;
    CyclicBarrier start = new CyclicBarrier(writers);
    ExecutorService threads = Executors.newFixedThreadPool(writers);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int w = 1; w <= writers; w++) {
        long token = w;
        List<Envelope<Item>> batch =
            new ArrayList<>(
                IntStream.range(0, 40).mapToObj(i -> item(i, "writer " + token, token)).toList());
        Collections.shuffle(batch, new java.util.Random(w));
        done.add(
            threads.submit(
                () -> {
                  start.await(30, TimeUnit.SECONDS);
                  sink.publish(batch);
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }

    Map<String, List<Object>> rows = rows();
    assertThat(rows).hasSize(40);
    assertThat(rows.values()).allSatisfy(r -> assertThat(r).containsExactly(6L, "writer 6"));
  }

  /** Values of common Java types are written, null as SQL NULL. */
  @Test
  void valuesOfCommonTypesAndNullsAreWritten() throws Exception {
    JdbcSink<Priced> sink =
        JdbcSink.builder(tables.pool, target, Priced.class)
            .column("name", "VARCHAR(50)", Priced::name)
            .column("price", "NUMERIC(12, 2)", Priced::price)
            .column("at", "TIMESTAMP WITH TIME ZONE", Priced::at)
            .column("sold_on", "DATE", Priced::day)
            .column("grade", "VARCHAR(10)", Priced::grade)
            .createTable()
            .build();
    Instant at = Instant.parse("2026-05-06T07:08:09.123456Z");

    sink.publish(
        List.of(
            Envelope.of(
                "p1",
                new Priced("a", new BigDecimal("12.50"), at, LocalDate.of(2026, 5, 6), Grade.GOOD)),
            Envelope.of("p2", new Priced("b", null, at, LocalDate.of(2026, 5, 7), Grade.BAD))));

    List<List<Object>> rows =
        tables.query(
            "SELECT record_id, name, price, at, sold_on, grade FROM "
                + target
                + " ORDER BY record_id");
    assertThat(rows).hasSize(2);
    assertThat(rows.get(0).get(2)).isEqualTo(new BigDecimal("12.50"));
    assertThat(rows.get(1).get(2)).isNull();
    assertThat(rows.get(1).get(5)).isEqualTo("BAD");
    assertThat(
            tables.query(
                "SELECT COUNT(*) FROM " + target + " WHERE at = ? AND sold_on = ?",
                java.time.OffsetDateTime.ofInstant(at, java.time.ZoneOffset.UTC),
                LocalDate.of(2026, 5, 6)))
        .containsExactly(List.of(1L));
  }

  /**
   * A value function that throws names the column and the record; nothing of the call is written.
   */
  @Test
  void aValueThatCannotBeMadeNamesTheColumnAndTheRecordAndWritesNothing() {
    JdbcSink<Item> sink =
        JdbcSink.builder(tables.pool, target, Item.class)
            .column(
                "title",
                "VARCHAR(100)",
                i -> {
                  if (i.id() == 2) {
                    throw new IllegalStateException("no title");
                  }
                  return i.title();
                })
            .createTable()
            .build();

    assertThatThrownBy(() -> sink.publish(List.of(item(1, "a", 1L), item(2, "b", 1L))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("column title of record 'item-2'")
        .hasMessageContaining("no title");
    assertThat(rows()).isEmpty();
  }

  /** A batch the database refuses writes nothing and says why, its values cut. */
  @Test
  void aBatchTheDatabaseRefusesWritesNothingAndSaysWhy() {
    JdbcSink<Item> sink =
        JdbcSink.builder(tables.pool, target, Item.class)
            .column("title", "VARCHAR(10)", Item::title)
            .createTable()
            .build();

    assertThatThrownBy(
            () -> sink.publish(List.of(item(1, "short", 1L), item(2, "x".repeat(5_000), 1L))))
        .isInstanceOf(java.sql.SQLException.class)
        .hasMessageContaining("sink could not write 2 records into")
        .hasMessageContaining("nothing of them was written")
        .message()
        .hasSizeLessThan(1_300);
    assertThat(rows()).isEmpty();
  }

  /** An existing table is checked at build: every missing piece is listed with its fix. */
  @Test
  void buildChecksTheTableAndListsEveryProblem() {
    tables.execute("CREATE TABLE " + target + " (record_id VARCHAR(200), title VARCHAR(10))");

    assertThatThrownBy(
            () ->
                JdbcSink.builder(tables.pool, target, Item.class)
                    .column("title", Item::title)
                    .column("qty", Item::qty)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("3 problems")
        .hasMessageContaining("ADD PRIMARY KEY (" + tables.folded("record_id") + ")")
        .hasMessageContaining("no column fencing_token: add fencing_token BIGINT NOT NULL")
        .hasMessageContaining("no column qty");
    assertThatThrownBy(
            () ->
                JdbcSink.builder(tables.pool, tables.table("absent"), Item.class)
                    .column("title", Item::title)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("there is no table")
        .hasMessageContaining("CREATE TABLE IF NOT EXISTS");
    assertThatThrownBy(
            () ->
                JdbcSink.builder(tables.pool, tables.table("absent"), Item.class)
                    .column("title", Item::title)
                    .createTable()
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("createTable() needs the SQL type of every column")
        .hasMessageContaining("title");
  }

  /** A table created with the documented DDL by hand is written as one the sink created. */
  @Test
  void aTableCreatedByHandWithTheDocumentedColumnsIsWritten() throws Exception {
    tables.execute(
        "CREATE TABLE "
            + target
            + " (record_id VARCHAR(1000) NOT NULL PRIMARY KEY, fencing_token BIGINT NOT NULL,"
            + " title VARCHAR(100), qty INTEGER)");
    JdbcSink<Item> sink =
        JdbcSink.builder(tables.pool, target.toUpperCase(Locale.ROOT), Item.class)
            .column("TITLE", Item::title)
            .column("qty", Item::qty)
            .build();

    sink.publish(List.of(item(1, "one", 2L)));

    assertThat(rows()).containsEntry("item-1", List.of(2L, "one"));
  }

  /**
   * A whole pipeline on the JDBC store: a JdbcSource reads a table of 2,500 rows in pages, a stage
   * changes each row, and a JdbcSink upserts them into another table; every row arrives exactly
   * once, written with the store's fencing token, and a second run publishes nothing again.
   */
  @Test
  void aPipelineMovesATableIntoAnotherWithEveryRowExactlyOnce() throws Exception {
    String source = target + "_src";
    int n = 2_500;
    tables.execute(
        "CREATE TABLE "
            + source
            + " (id BIGINT NOT NULL PRIMARY KEY, title VARCHAR(100) NOT NULL, qty INTEGER)");
    tables.insert(
        "INSERT INTO " + source + " (id, title, qty) VALUES (?, ?, ?)",
        IntStream.rangeClosed(1, n)
            .mapToObj(i -> List.<Object>of((long) i, "item " + i, i % 9))
            .toList());
    JdbcSink<Item> sink = itemSink();
    JsonCodec<Item> codec = JsonCodec.of(Item.class);

    try (JdbcPipelineStore store = tables.db.builder().workerId("mover").build()) {
      Pipeline<Item, Item> pipeline =
          Pipeline.builder(name, Item.class)
              .store(store)
              .inputCodec(codec)
              .stage(
                  StageName.CLEANING,
                  (Item i) -> new Item(i.id(), i.title().toUpperCase(Locale.ROOT), i.qty() * 2),
                  o -> o.codec(codec).batchSize(100))
              .sink(sink)
              .build();

      RunResult result = pipeline.run(items(source));
      assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
      assertThat(result.published()).isEqualTo(n);
      assertThat(result.deadLettered()).isZero();

      RunResult again = pipeline.run(items(source));
      assertThat(again.status()).isEqualTo(RunStatus.COMPLETED);
      assertThat(again.published()).isZero();
      assertThat(again.duplicates()).isEqualTo(n);
    }

    List<List<Object>> moved =
        tables.query("SELECT record_id, title, qty, fencing_token FROM " + target);
    assertThat(moved).hasSize(n);
    Map<String, List<Object>> byId = new TreeMap<>();
    moved.forEach(r -> byId.put((String) r.get(0), r));
    for (int i = 1; i <= n; i++) {
      List<Object> row = byId.get("src-" + i);
      assertThat(row).as("row %d", i).isNotNull();
      assertThat(row.get(1)).isEqualTo("ITEM " + i);
      assertThat(((Number) row.get(2)).intValue()).isEqualTo((i % 9) * 2);
      assertThat(((Number) row.get(3)).longValue()).as("fencing token of row %d", i).isPositive();
    }
  }

  /** The example of {@link JdbcSource}'s javadoc. */
  private JdbcSource<Item> items(String table) {
    return JdbcSource.builder(
            "src",
            tables.pool,
            row -> new Item(row.getLong("id"), row.getString("title"), row.getInt("qty")))
        .table(table)
        .keyColumns("id")
        .pageSize(300)
        .unmappableAs(key -> new Item(-1, key, 0))
        .build();
  }
}
