package dev.pipeline.jdbc;

/** Packed lineage and the retention of merge groups and seen keys on H2, in memory. */
class H2LineageRetentionTest extends LineageRetentionContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("lineage");
  }

  @Override
  boolean hasEventsView() {
    return false;
  }
}
