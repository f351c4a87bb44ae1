package dev.pipeline.jdbc;

/** The audit trail and metrics history on H2, in memory. */
class H2HistoryTest extends HistoryContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("history");
  }
}
