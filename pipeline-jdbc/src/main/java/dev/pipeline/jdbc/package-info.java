/** The JDBC store: {@link dev.pipeline.jdbc.JdbcPipelineStore} on H2 and PostgreSQL, and codecs. */
@NullMarked
package dev.pipeline.jdbc;

import org.jspecify.annotations.NullMarked;
