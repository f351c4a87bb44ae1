package dev.pipeline.quality;

/** UNIQUE rules against the store on PostgreSQL (PIPELINE_PG_URL). */
class PostgresSeenKeysTest extends SeenKeysContract {
  @Override
  RuleDatabase database() {
    return RuleDatabase.postgres();
  }
}
