package dev.pipeline.quality;

/** The rule table on PostgreSQL (PIPELINE_PG_URL). */
class PostgresRuleTableTest extends RuleTableContract {
  @Override
  RuleDatabase database() {
    return RuleDatabase.postgres();
  }
}
