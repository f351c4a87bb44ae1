package dev.pipeline.jdbc;

/** Batches kept as source spans on the real PostgreSQL. */
class PostgresSpanStoreTest extends SpanStoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("span");
  }
}
