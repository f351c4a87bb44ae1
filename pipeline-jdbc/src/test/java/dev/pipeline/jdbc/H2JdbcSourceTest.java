package dev.pipeline.jdbc;

/** The {@link JdbcSource} contract on H2, in memory. */
class H2JdbcSourceTest extends JdbcSourceContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("jdbcsource");
  }
}
