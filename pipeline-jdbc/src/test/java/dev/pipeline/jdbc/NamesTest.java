package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NamesTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "x;DROP TABLE",
        "x; DROP TABLE pipeline_status; --",
        "etl\"",
        "etl'",
        "\"etl\"",
        "e`tl",
        "ETL",
        "1etl",
        "",
        " etl",
        "etl ",
        "a-b",
        "a.b",
        "étl",
        "etl\u0000",
        "etl\n",
        "аbc", // Cyrillic a
        "abcdefghijklmnopqrstuvwxyz012345" // 32 characters
      })
  void hostileSchemaNamesAreRejectedNamingTheValueAndTheRule(String hostile) {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().schema(hostile))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("schema '")
        .hasMessageContaining("[a-z_][a-z0-9_]{0,30}");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "x;DROP TABLE",
        "etl'",
        "etl\"",
        "Etl_",
        "a b",
        "é_",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      })
  void hostileTablePrefixesAreRejected(String hostile) {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().tablePrefix(hostile))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tablePrefix '")
        .hasMessageContaining("[a-z_][a-z0-9_]{0,30}");
  }

  @ParameterizedTest
  @ValueSource(strings = {"select", "user", "table", "order", "pg_catalog", "information_schema"})
  void reservedSchemaNamesAreRejected(String reserved) {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().schema(reserved))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(reserved);
  }

  @ParameterizedTest
  @ValueSource(strings = {"etl", "_x", "a1_b2", "abcdefghijklmnopqrstuvwxyz01234"})
  void plainIdentifiersAreAccepted(String name) {
    assertThat(Names.checkSchema(name)).isEqualTo(name);
    assertThat(Names.checkPrefix(name)).isEqualTo(name);
  }

  @org.junit.jupiter.api.Test
  void theEmptyPrefixIsAllowedAndTablesAreQualifiedByTheSchema() {
    assertThat(new Names("etl", "").status()).isEqualTo("etl.pipeline_records");
    assertThat(new Names("etl", "").statusView()).isEqualTo("etl.pipeline_status");
    assertThat(new Names(null, "app_").retryQueue()).isEqualTo("app_retry_queue");
    assertThat(new Names("etl", "app_").fill("CREATE TABLE ${schema}.${prefix}processing_logs"))
        .isEqualTo("CREATE TABLE etl.app_processing_logs");
    assertThat(new Names(null, "").fill("DROP TABLE ${schema}.${prefix}retry_queue"))
        .isEqualTo("DROP TABLE retry_queue");
  }

  @org.junit.jupiter.api.Test
  void messagesShowHostileValuesEscaped() {
    assertThat(Names.quote("a\u0000b\né")).isEqualTo("'a\\u0000b\\u000a\\u00e9'");
    assertThat(Names.quote("x".repeat(200))).contains("...(200 characters)");
  }
}
