package dev.pipeline.jdbc;

/** The store contract on H2, in memory. */
class H2StoreTest extends StoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("contract");
  }
}
