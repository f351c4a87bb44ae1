package dev.pipeline.jdbc;

/** Bulk appends on the real PostgreSQL: COPY, a JDBC batch, and rows unnested from arrays. */
class PostgresBulkAppendTest extends BulkAppendContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.postgres("bulk");
  }
}
