/**
 * The embedded operations dashboard of Data Pipeline Manager, on the JDK's HTTP server: no
 * framework is forced on the host.
 */
module dev.pipeline.dashboard {
  requires transitive dev.pipeline.core;
  requires jdk.httpserver;

  exports dev.pipeline.dashboard;
}
