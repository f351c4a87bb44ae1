package dev.pipeline.quality;

/** Stored drift baselines on H2. */
class H2BaselineTableTest extends BaselineTableContract {
  @Override
  RuleDatabase database() {
    return RuleDatabase.h2();
  }
}
