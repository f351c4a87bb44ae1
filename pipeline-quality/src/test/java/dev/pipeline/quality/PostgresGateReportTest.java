package dev.pipeline.quality;

/** Gate scores in the metrics history and reports of a period on PostgreSQL (PIPELINE_PG_URL). */
class PostgresGateReportTest extends GateReportContract {
  @Override
  RuleDatabase database() {
    return RuleDatabase.postgres();
  }
}
