/**
 * Micrometer for Data Pipeline Manager: a pipeline's metrics as meters, and an observation (a
 * tracing span) around every stage call.
 */
@SuppressWarnings("requires-transitive-automatic") // Micrometer has module names, no module-info
module dev.pipeline.micrometer {
  requires transitive dev.pipeline.core;
  requires transitive micrometer.core;
  requires transitive micrometer.observation;
  requires micrometer.commons;

  exports dev.pipeline.micrometer;
}
