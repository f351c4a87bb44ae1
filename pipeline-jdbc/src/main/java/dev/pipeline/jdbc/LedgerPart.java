package dev.pipeline.jdbc;

/**
 * What the parts of a {@link BatchLedger} that write or claim share: the database's dialect, this
 * worker's id (every write and claim is fenced by it), the lease a batch is held for, and the
 * ledger's SQL.
 */
abstract class LedgerPart {
  /** The values a part is made with, built once by the {@link BatchLedger}. */
  record Setup(Dialect dialect, String workerId, long leaseMillis, BatchStatements sql) {}

  final Dialect dialect;
  final String workerId;
  final long leaseMillis;
  final BatchStatements sql;

  LedgerPart(Setup setup) {
    this.dialect = setup.dialect();
    this.workerId = setup.workerId();
    this.leaseMillis = setup.leaseMillis();
    this.sql = setup.sql();
  }
}
