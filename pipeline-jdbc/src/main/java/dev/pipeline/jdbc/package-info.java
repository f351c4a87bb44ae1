/**
 * The JDBC store: {@link dev.pipeline.jdbc.JdbcPipelineStore} on H2 and PostgreSQL, codecs, and a
 * keyset-paged table source and a fenced upsert sink.
 */
@NullMarked
package dev.pipeline.jdbc;

import org.jspecify.annotations.NullMarked;
