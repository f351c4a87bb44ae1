package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

/**
 * The builders of {@link JdbcSource} and {@link JdbcSink} check each argument at once, before any
 * connection: hostile names and types never reach SQL.
 */
class JdbcSourceSinkBuilderTest {
  /** Never connected to: every check here happens before build(). */
  private static final DataSource UNUSED = new JdbcDataSource();

  private static final List<String> HOSTILE_NAMES =
      List.of(
          "items; DROP TABLE users",
          "items--",
          "items/*",
          "\"items\"",
          "items\"; DROP TABLE x; --",
          "it ems",
          " items",
          "items ",
          "",
          "1items",
          "ítems",
          "items\u0000",
          "items\n",
          "it'ems",
          "x".repeat(64),
          "*");

  private static JdbcSource.Builder<String> source() {
    return JdbcSource.builder("s", UNUSED, row -> "x");
  }

  @Test
  void hostileTableNamesAreRejectedWithTheRule() {
    for (String name : HOSTILE_NAMES) {
      assertThatThrownBy(() -> source().table(name))
          .as(name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("[A-Za-z_][A-Za-z0-9_]{0,62}");
      assertThatThrownBy(() -> JdbcSink.builder(UNUSED, name, String.class))
          .as(name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("[A-Za-z_][A-Za-z0-9_]{0,62}");
    }
    for (String name : List.of("a.b.c", ".items", "items.", "s.items; DROP", "s.\"items\"")) {
      assertThatThrownBy(() -> source().table(name))
          .as(name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("schema.table");
    }
    assertThat(source().table("shop.items_2026")).isNotNull();
    assertThat(source().table("Items")).isNotNull();
  }

  @Test
  void hostileColumnNamesAreRejectedWithTheRule() {
    for (String name : HOSTILE_NAMES) {
      assertThatThrownBy(() -> source().keyColumns("id", name))
          .as(name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("keyColumns");
      assertThatThrownBy(() -> source().columns(name))
          .as(name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("columns");
      assertThatThrownBy(
              () -> JdbcSink.builder(UNUSED, "t", String.class).column(name, "TEXT", s -> s))
          .as(name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("column");
    }
  }

  /** A message repeats only a bounded, escaped part of what it refuses. */
  @Test
  void aRefusedNameIsShownCutAndEscaped() {
    assertThatThrownBy(() -> source().table("\u001b[31m" + "x".repeat(10_000)))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .contains("\\u001b[31m", "(10005 characters)")
        .doesNotContain("\u001b")
        .hasSizeLessThan(400);
  }

  @Test
  void theKeyTakesOneToEightDistinctColumns() {
    assertThatThrownBy(() -> source().keyColumns())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("keyColumns takes 1 to 8 columns, was 0");
    assertThatThrownBy(() -> source().keyColumns("a", "b", "c", "d", "e", "f", "g", "h", "i"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("keyColumns takes 1 to 8 columns, was 9");
    assertThatThrownBy(() -> source().keyColumns("id", "id"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("twice");
    assertThatThrownBy(() -> source().keyColumns("id", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("keyColumns cannot be null");
    assertThatThrownBy(() -> source().keyColumns("id").keyColumns("id"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("keyColumns(...) was already set");
  }

  @Test
  void thePageSizeIsBetweenOneAndAHundredThousandRows() {
    for (int bad : new int[] {0, -1, 100_001, Integer.MAX_VALUE}) {
      assertThatThrownBy(() -> source().pageSize(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("pageSize must be between 1 and 100000 rows, was " + bad);
    }
    assertThat(source().pageSize(1)).isNotNull();
    assertThat(source().pageSize(100_000)).isNotNull();
    assertThatThrownBy(() -> source().pageSize(10).pageSize(20))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aSourceNeedsItsIdTableKeyAndUnmappablePayloadBeforeBuild() {
    assertThatThrownBy(() -> JdbcSource.builder(null, UNUSED, row -> "x"))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("sourceId cannot be null");
    assertThatThrownBy(() -> JdbcSource.builder(" ", UNUSED, row -> "x"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JdbcSource.builder("s", null, row -> "x"))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("dataSource cannot be null");
    assertThatThrownBy(() -> JdbcSource.builder("s", UNUSED, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("mapper cannot be null");
    assertThatThrownBy(() -> source().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("table(...), keyColumns(...), unmappableAs(...)");
    assertThatThrownBy(() -> source().table("t").table("u"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("table(...) was already set");
  }

  @Test
  void aSinkRefusesHostileTypesAndItsOwnColumns() {
    JdbcSink.Builder<String> sink = JdbcSink.builder(UNUSED, "t", String.class);
    for (String type :
        List.of(
            "VARCHAR(10); DROP TABLE x",
            "INT --",
            "TEXT'",
            "VARCHAR(10) DEFAULT 'x'",
            "INT/**/",
            "",
            "(10)",
            "INT\nNOT NULL",
            "x".repeat(60))) {
      assertThatThrownBy(() -> sink.column("c", type, s -> s))
          .as(type)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("is not a type name");
    }
    assertThat(sink.column("a", "NUMERIC(12, 2)", s -> s)).isNotNull();
    assertThat(sink.column("b", "TIMESTAMP WITH TIME ZONE", s -> s)).isNotNull();
    assertThat(sink.column("c", "double precision", s -> s)).isNotNull();
    for (String own : List.of("record_id", "FENCING_TOKEN")) {
      assertThatThrownBy(() -> sink.column(own, s -> s))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("is the sink's own");
    }
    assertThatThrownBy(() -> sink.column("A", s -> s))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already given");
    assertThatThrownBy(() -> sink.createTable().createTable())
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> JdbcSink.builder(UNUSED, "t", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("payloadType cannot be null");
  }
}
