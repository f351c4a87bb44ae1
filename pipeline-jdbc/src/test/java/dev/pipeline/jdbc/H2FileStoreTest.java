package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.RecordStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.List;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class H2FileStoreTest {
  @TempDir Path dir;

  @Test
  void anH2FileKeepsRecordsAcrossStoresAndWritesEveryCommit() throws Exception {
    Path file = dir.resolve("pipeline");
    try (JdbcPipelineStore a = JdbcPipelineStore.builder().h2File(file).workerId("a").build()) {
      a.register("p", StoreContract.STAGES);
      a.ingest("p", StoreContract.records(0, 10), "ingestion", StoreContract.T0);
      a.complete(
          "p",
          List.of(
              StoreContract.published("r1000"),
              StoreContract.published("r1001"),
              StoreContract.published("r1002")));
    } // closing gives the 7 unfinished records back
    assertThat(Files.exists(dir.resolve("pipeline.mv.db"))).isTrue();

    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL(Connections.h2FileUrl(file));
    try (JdbcPipelineStore b = JdbcPipelineStore.builder().dataSource(ds).workerId("b").build()) {
      b.register("p", StoreContract.STAGES);
      assertThat(b.counts("p").get(RecordStatus.PUBLISHED)).isEqualTo(3);
      assertThat(b.counts("p").get(RecordStatus.READY)).isEqualTo(7);
      assertThat(b.claim("p", 100)).hasSize(7);
      try (Connection c = ds.getConnection();
          ResultSet rs =
              c.createStatement()
                  .executeQuery(
                      "SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS"
                          + " WHERE SETTING_NAME = 'WRITE_DELAY'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("0");
      }
    }
  }
}
