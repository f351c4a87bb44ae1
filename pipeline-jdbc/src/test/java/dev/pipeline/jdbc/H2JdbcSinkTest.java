package dev.pipeline.jdbc;

/**
 * The {@link JdbcSink} contract, and a pipeline from a {@link JdbcSource} to it, on H2, in memory.
 */
class H2JdbcSinkTest extends JdbcSinkContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("jdbcsink");
  }
}
