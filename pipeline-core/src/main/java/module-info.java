/** Data Pipeline Manager: the API and the virtual-thread engine, with an in-memory store. */
@SuppressWarnings("module") // the modules the internal package is exported to are built later
module dev.pipeline.core {
  requires transitive org.slf4j;
  requires transitive org.jspecify;
  requires com.github.benmanes.caffeine;
  requires static jdk.jfr; // resource sampling, when the runtime has it

  exports dev.pipeline;
  exports dev.pipeline.metrics;
  exports dev.pipeline.resilience;
  exports dev.pipeline.source;
  exports dev.pipeline.store;
  exports dev.pipeline.store.spi;

  uses dev.pipeline.metrics.QualityReporter; // pipeline-quality provides it

  // not API: shared with the library's own modules only
  exports dev.pipeline.engine to
      dev.pipeline.testkit;
  exports dev.pipeline.internal to
      dev.pipeline.dashboard,
      dev.pipeline.jdbc,
      dev.pipeline.micrometer,
      dev.pipeline.testkit;
}
