package dev.pipeline.jdbc;

/** The {@link JdbcSource} contract on the real PostgreSQL. */
class PostgresJdbcSourceTest extends JdbcSourceContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("jdbcsource");
  }
}
