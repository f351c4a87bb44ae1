package dev.pipeline.jdbc;

/** The store contract on the real PostgreSQL. */
class PostgresStoreTest extends StoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("contract");
  }
}
