package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConnectionsTest {

  @Test
  void anH2FileUrlWritesEachCommitAndCannotCarrySettingsInItsPath() {
    assertThat(Connections.h2FileUrl(Path.of("/data/pipeline.mv.db")))
        .isEqualTo("jdbc:h2:file:/data/pipeline;WRITE_DELAY=0");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().h2File(Path.of("/tmp/x;INIT=SELECT 1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("';'");
  }

  @Test
  void theBuilderTakesOneDatabaseAndChecksItsSettings() {
    JdbcPipelineStoreBuilder builder =
        JdbcPipelineStore.builder().jdbcUrl("jdbc:h2:mem:a", null, null);
    assertThatThrownBy(() -> builder.h2File(Path.of("x")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already set");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no database");
    assertThatThrownBy(() -> builder.leaseDuration(java.time.Duration.ofMillis(10)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.workerId(" ")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.dataSource(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("dataSource cannot be null");
    builder.schema("etl");
    assertThatThrownBy(() -> builder.schema("etl"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("schema was already set");
    assertThat(Connections.defaultWorkerId())
        .as("host, pid, process start, PID namespace, random")
        .matches(".+-\\d+-t[0-9a-z]+-n\\d*-[0-9a-f]{6}");
  }

  /**
   * A worker id is written in log lines and bound as each leased record's owner: a line break or an
   * escape would forge log lines, and NUL or an unpaired surrogate fails every lease write on
   * PostgreSQL (SQLState 22021). They are refused at the builder, with their position.
   */
  @Test
  void workerIdsWithControlCharactersNulOrUnpairedSurrogatesAreRefusedWithTheirPosition() {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().workerId("w1\nINFO forged"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "workerId 'w1\\u000aINFO forged' holds the control character U+000A at position 2;"
                + " use an id without NUL, line breaks, escapes, other control characters or"
                + " unpaired surrogates");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().workerId("w\u0000"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the control character U+0000 at position 1");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().workerId("w\u001B[2J"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the control character U+001B at position 1");
    assertThatThrownBy(() -> JdbcPipelineStore.builder().workerId("ab\uD800c"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("contains an unpaired surrogate (U+D800) at index 2");
    assertThat(JdbcPipelineStore.builder().workerId("wörker-\uD83D\uDE00-1")).isNotNull();
  }
}
