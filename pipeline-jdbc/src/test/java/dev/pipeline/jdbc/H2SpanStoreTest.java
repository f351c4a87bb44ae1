package dev.pipeline.jdbc;

/** Batches kept as source spans on H2. */
class H2SpanStoreTest extends SpanStoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("span");
  }
}
