package dev.pipeline.jdbc;

/** Merge groups on H2. */
class H2MergeStoreTest extends MergeStoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("merge");
  }
}
