package dev.pipeline.jdbc;

/** Packed lineage and the retention of merge groups and seen keys on the real PostgreSQL. */
class PostgresLineageRetentionTest extends LineageRetentionContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("lineage");
  }

  @Override
  boolean hasEventsView() {
    return true;
  }
}
