package dev.pipeline.quality;

/** Stored drift baselines on PostgreSQL (PIPELINE_PG_URL). */
class PostgresBaselineTableTest extends BaselineTableContract {
  @Override
  RuleDatabase database() {
    return RuleDatabase.postgres();
  }
}
