package dev.pipeline.jdbc;

import dev.pipeline.PipelineException;
import dev.pipeline.internal.Secrets;
import org.jspecify.annotations.Nullable;

/**
 * A database operation of the JDBC store failed for good: a non-transient SQL error, a database
 * that stayed unreachable longer than the store's outage tolerance, or a schema that does not match
 * this library; or a {@link JdbcSource} or {@link JdbcSink} could not read the definition of its
 * table, or create it. Transient errors (a lost connection, a restarted server, a deadlock) are
 * retried inside the store and never surface as this exception unless they outlast the tolerance.
 *
 * <p>Its message and its cause's are masked (passwords, tokens: see {@link dev.pipeline.SafeText}):
 * a cause whose messages hold a secret is replaced by a masked copy (a database error stays a
 * {@link java.sql.SQLException} of its class family, with its SQLState, vendor code and stack
 * frames); a cause with nothing to mask is the driver's exception itself.
 *
 * <p>Immutable and thread-safe.
 */
public final class JdbcStoreException extends PipelineException {
  private static final long serialVersionUID = 1L;

  private final String operation;
  private final @Nullable String pipeline;
  private final @Nullable String sqlState;

  JdbcStoreException(
      String operation,
      @Nullable String pipeline,
      @Nullable String sqlState,
      String message,
      @Nullable Throwable cause) {
    // a logger given this exception prints its causes' messages: a driver's may hold the password
    super(message, MaskedCause.of(cause, Secrets::redact));
    this.operation = operation;
    this.pipeline = pipeline;
    this.sqlState = sqlState;
  }

  /** The store operation that failed, e.g. "ingest", "complete", "claim", "migrate". */
  public String operation() {
    return operation;
  }

  /** The pipeline it was for, or null for store-wide operations. */
  public @Nullable String pipeline() {
    return pipeline;
  }

  /** The SQLState of the database error, or null if there was none. */
  public @Nullable String sqlState() {
    return sqlState;
  }
}
