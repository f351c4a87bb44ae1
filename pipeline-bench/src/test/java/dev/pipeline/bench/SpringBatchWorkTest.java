package dev.pipeline.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The Spring Batch baseline ends a few hundred lines as our pipeline does on H2: the same counts
 * and the same checksum of what was published. No figure is asserted.
 */
class SpringBatchWorkTest {

  @Test
  void springBatchJobEndsTheLinesAsOurDurablePipelineDoes() throws Exception {
    DurableWork.Outcome ours = DurableWork.durable(BenchDatabase.Kind.H2, 600).outcome();

    DurableWork.Outcome springBatch = SpringBatchWork.run(BenchDatabase.Kind.H2, 600).outcome();

    assertThat(springBatch).isEqualTo(ours);
    assertThat(ours.unique()).isEqualTo(592);
    assertThat(ours.published()).isPositive();
    assertThat(ours.filtered()).isPositive();
    assertThat(ours.deadLettered()).isPositive();
    assertThat(ours.checksum()).isNotZero();
  }
}
