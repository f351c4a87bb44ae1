package dev.pipeline.jdbc;

/**
 * The {@link JdbcSink} contract, and a pipeline from a {@link JdbcSource} to it, on the real
 * PostgreSQL.
 */
class PostgresJdbcSinkTest extends JdbcSinkContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("jdbcsink");
  }
}
