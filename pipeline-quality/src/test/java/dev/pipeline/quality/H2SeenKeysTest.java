package dev.pipeline.quality;

/** UNIQUE rules against the store on H2. */
class H2SeenKeysTest extends SeenKeysContract {
  @Override
  RuleDatabase database() {
    return RuleDatabase.h2();
  }
}
