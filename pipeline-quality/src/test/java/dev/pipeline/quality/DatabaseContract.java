package dev.pipeline.quality;

import org.junit.jupiter.api.AfterEach;

/** A test on a database of its own (H2 or PostgreSQL), opened on first use and dropped after. */
abstract class DatabaseContract {
  private RuleDatabase db;

  abstract RuleDatabase database();

  final RuleDatabase db() {
    if (db == null) {
      db = database();
    }
    return db;
  }

  @AfterEach
  final void dropSchema() {
    if (db != null) {
      db.close();
    }
  }
}
