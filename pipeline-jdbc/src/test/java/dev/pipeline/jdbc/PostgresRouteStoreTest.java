package dev.pipeline.jdbc;

/** Routing by data on the real PostgreSQL. */
class PostgresRouteStoreTest extends RouteStoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("route");
  }
}
