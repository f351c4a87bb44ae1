package dev.pipeline.jdbc;

/** Bulk appends on H2, in memory. */
class H2BulkAppendTest extends BulkAppendContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("bulk");
  }
}
