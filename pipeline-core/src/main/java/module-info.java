/** Data Pipeline Manager: the API and the virtual-thread engine, with an in-memory store. */
module dev.pipeline.core {
  requires transitive org.slf4j;
  requires transitive org.jspecify;

  exports dev.pipeline;
  exports dev.pipeline.metrics;
  exports dev.pipeline.resilience;
  exports dev.pipeline.store;
}
