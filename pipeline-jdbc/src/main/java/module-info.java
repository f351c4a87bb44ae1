/**
 * The seven-table JDBC store of Data Pipeline Manager: durable, crash-safe pipelines on H2 (the
 * embedded default) and PostgreSQL (several workers on one database).
 */
module dev.pipeline.jdbc {
  requires transitive dev.pipeline.core;
  requires transitive java.sql;
  requires org.jdbi.v3.core;
  requires com.zaxxer.hikari;
  requires static com.fasterxml.jackson.databind;
  // COPY on PostgreSQL (BulkAppend); read when the driver is present, as it is on PostgreSQL
  requires static org.postgresql.jdbc;

  exports dev.pipeline.jdbc;
}
