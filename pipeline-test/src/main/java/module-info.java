/** Data Pipeline Manager test kit: run one stage or a whole pipeline in a test, on a fake clock. */
module dev.pipeline.testkit {
  requires transitive dev.pipeline.core;

  exports dev.pipeline.testkit;

  // LogCapture passes lines on to the other SLF4J provider it finds
  uses org.slf4j.spi.SLF4JServiceProvider;
}
