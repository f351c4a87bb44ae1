package dev.pipeline.jdbc;

/** Merge groups on the real PostgreSQL. */
class PostgresMergeStoreTest extends MergeStoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("merge");
  }
}
