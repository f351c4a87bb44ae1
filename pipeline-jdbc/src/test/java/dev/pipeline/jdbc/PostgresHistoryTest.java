package dev.pipeline.jdbc;

/** The audit trail and metrics history on the real PostgreSQL. */
class PostgresHistoryTest extends HistoryContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("history");
  }
}
