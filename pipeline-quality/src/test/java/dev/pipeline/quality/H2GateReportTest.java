package dev.pipeline.quality;

/** Gate scores in the metrics history and reports of a period on H2. */
class H2GateReportTest extends GateReportContract {
  @Override
  RuleDatabase database() {
    return RuleDatabase.h2();
  }
}
