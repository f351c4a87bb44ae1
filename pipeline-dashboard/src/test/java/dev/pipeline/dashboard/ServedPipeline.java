package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A test of a dashboard over the fixture's pipeline, which has run 20 good and 5 bad records
 * (order-21 to order-25 dead-lettered) before each test; both are closed after it.
 */
abstract class ServedPipeline {
  Pipeline<String, String> pipeline;
  Dashboard dashboard;

  @BeforeEach
  void runPipeline() {
    pipeline = Fixture.pipeline();
    Fixture.run(pipeline, 20, 5);
  }

  @AfterEach
  void close() {
    if (dashboard != null) {
      dashboard.close();
    }
    pipeline.close();
  }

  /** Starts a dashboard of the pipeline and a client of it. */
  Http start(Dashboard.Builder builder) {
    dashboard = builder.pipeline(pipeline).start();
    return new Http(dashboard.url());
  }
}
