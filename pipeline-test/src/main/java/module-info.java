/** Data Pipeline Manager test kit: run one stage or a whole pipeline in a test, on a fake clock. */
module dev.pipeline.testkit {
  requires transitive dev.pipeline.core;

  exports dev.pipeline.testkit;
}
