package dev.pipeline.jdbc;

/** Routing by data on H2. */
class H2RouteStoreTest extends RouteStoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("route");
  }
}
