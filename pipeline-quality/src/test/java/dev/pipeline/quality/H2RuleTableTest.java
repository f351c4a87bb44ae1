package dev.pipeline.quality;

/** The rule table on H2. */
class H2RuleTableTest extends RuleTableContract {
  @Override
  RuleDatabase database() {
    return RuleDatabase.h2();
  }
}
