package dev.pipeline.jdbc;

import dev.pipeline.internal.ErrorText;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a {@link JdbcPipelineStore}'s retention settings: clears old payloads, deletes old
 * completed records with their errors and lineage, finished merge groups, old logs and metrics, and
 * old keys of uniqueness rules, in short transactions, on demand ({@link
 * JdbcPipelineStore#purge()}) or on a schedule of its own.
 */
final class Purger {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  private final Database db;
  private final Statements sql;
  private final Names names;
  private final Retention retention;
  private final @Nullable BatchLedger ledger;
  private final AtomicBoolean closed;
  private final PurgeGroups merges;

  Purger(
      Database db,
      Statements sql,
      Names names,
      Retention retention,
      @Nullable BatchLedger ledger,
      AtomicBoolean closed) {
    this.db = db;
    this.sql = sql;
    this.names = names;
    this.retention = retention;
    this.ledger = ledger;
    this.closed = closed;
    this.merges = new PurgeGroups(db, names);
  }

  /** Applies the retention settings now; see {@link JdbcPipelineStore#purge()}. */
  JdbcPipelineStore.Purged purge() {
    int batch = retention.batchSize();
    // records first: no point clearing payloads of rows about to go
    long records = 0;
    if (retention.completed() != null) {
      long age = retention.completed().toMillis();
      records =
          repeat(
              batch,
              () ->
                  db.planned(
                      "purge",
                      null,
                      h -> {
                        List<Map.Entry<String, String>> keys =
                            h.createQuery(sql.purgeCompletedKeys)
                                .bind("age_ms", age)
                                .bind("batch", batch)
                                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
                                .list();
                        if (keys.isEmpty()) {
                          return 0;
                        }
                        PreparedBatch errors = h.prepareBatch(sql.purgeErrorsOf);
                        PreparedBatch status = h.prepareBatch(sql.purgeStatusOf);
                        for (Map.Entry<String, String> k : keys) {
                          errors.bind("pipeline", k.getKey()).bind("id", k.getValue()).add();
                          status.bind("pipeline", k.getKey()).bind("id", k.getValue()).add();
                        }
                        errors.execute();
                        int deleted = 0;
                        for (int n : status.execute()) {
                          deleted += Math.max(0, n);
                        }
                        return deleted;
                      }));
    }
    BatchLedger ledger = this.ledger;
    if (retention.completed() != null && ledger != null) {
      long age = retention.completed().toMillis();
      int batches = Math.max(1, batch / 100);
      int[] step;
      do {
        step = db.planned("purge", null, h -> ledger.queries().purge(h, age, batches));
        records += step[1];
      } while (step[0] >= batches && !closed.get());
    }
    long payloads = 0;
    if (!retention.payloads().isZero()) {
      long age = retention.payloads().toMillis();
      payloads =
          repeat(
              batch,
              () ->
                  db.planned(
                      "purge",
                      null,
                      h ->
                          h.createUpdate(sql.purgePayloads)
                              .bind("age_ms", age)
                              .bind("batch", batch)
                              .execute()));
    }
    long lineage = 0;
    long mergeGroups = 0;
    if (retention.completed() != null) {
      long age = retention.completed().toMillis();
      lineage = repeat(batch, () -> deleteOlder(sql.purgeLineage, age, batch));
      lineage += repeat(batch, () -> deleteOlder(sql.purgeTraces, age, batch));
      mergeGroups = repeat(batch, () -> merges.purge(age, batch));
    }
    long seenKeys = 0;
    if (retention.seenKeys() != null) {
      long age = retention.seenKeys().toMillis();
      seenKeys = repeat(batch, () -> deleteOlder(sql.purgeSeenKeys, age, batch));
    }
    long logs = 0;
    long metrics = 0;
    if (retention.logs() != null) {
      long age = retention.logs().toMillis();
      logs = repeat(batch, () -> deleteOlder(sql.purgeLogs, age, batch));
      metrics = repeat(batch, () -> deleteOlder(sql.purgeMetrics, age, batch));
    }
    JdbcPipelineStore.Purged purged =
        new JdbcPipelineStore.Purged(
            payloads, records, logs, metrics, lineage, mergeGroups, seenKeys);
    LOG.debug("pipeline-jdbc: purge of {} removed {}", names, purged);
    return purged;
  }

  private int deleteOlder(String statement, long ageMillis, int batch) {
    return db.planned(
        "purge",
        null,
        h -> h.createUpdate(statement).bind("age_ms", ageMillis).bind("batch", batch).execute());
  }

  private long repeat(int batch, java.util.function.IntSupplier step) {
    long total = 0;
    int n;
    do {
      if (closed.get()) {
        break;
      }
      n = step.getAsInt();
      total += n;
    } while (n >= batch);
    return total;
  }

  /** Purges every {@code every} until the store closes (the purge thread). */
  void loop(Duration every) {
    while (!closed.get()) {
      try {
        TimeUnit.MILLISECONDS.sleep(every.toMillis());
      } catch (InterruptedException e) {
        return;
      }
      try {
        purge();
      } catch (RuntimeException e) {
        if (!closed.get()) {
          LOG.warn(
              "pipeline-jdbc: scheduled purge failed; trying again in {}: {}",
              every,
              ErrorText.defaults().stackTrace(e));
        }
      }
    }
  }
}
