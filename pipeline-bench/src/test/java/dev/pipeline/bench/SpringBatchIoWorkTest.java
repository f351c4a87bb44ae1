package dev.pipeline.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The IO-bound Spring Batch baseline, on H2, ends the records as our pipeline does: the same sum,
 * over a full chunk and a partial one. Against our in-memory run, which is quick: the scenario
 * checks our durable run against it too (see {@link DurableScenariosTest}). No figure is asserted.
 */
class SpringBatchIoWorkTest {

  @Test
  void springBatchJobSumsTheRecordsAsOurPipelineDoes() throws Exception {
    int records = SpringBatchIoWork.CHUNK + 7;
    DurableIoScenario.Measured ours = DurableIoScenario.inMemory(records, false);

    DurableIoScenario.Measured springBatch = SpringBatchIoWork.run(BenchDatabase.Kind.H2, records);

    assertThat(springBatch.sum()).as("Spring Batch's sum").isEqualTo(ours.sum());
    assertThat(ours.sum()).as("our sum").isNotZero();
    assertThat(springBatch.records()).isEqualTo(records);
  }
}
