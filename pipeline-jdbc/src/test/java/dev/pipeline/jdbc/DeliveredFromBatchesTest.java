package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The batches of delivered records, kept for lineage: only when asked, once, and bounded. */
class DeliveredFromBatchesTest {
  @Test
  void aRecordsBatchIsKeptOnlyForATrackedPipelineAndGivenOnce() {
    DeliveredFromBatches kept = new DeliveredFromBatches();
    kept.note("p", "r1", -7L);
    assertThat(kept.take("p", "r1")).as("not tracked: nothing kept").isNull();

    kept.track("p");
    kept.note("p", "r1", -7L);
    kept.note("q", "r1", 3L);
    assertThat(kept.take("q", "r1")).isNull();
    assertThat(kept.take("p", "r1")).isEqualTo(-7L);
    assertThat(kept.take("p", "r1")).as("given once").isNull();
  }

  @Test
  void pastItsBoundsAPipelinesRecordsAreForgotten() {
    DeliveredFromBatches kept = new DeliveredFromBatches();
    kept.track("p");
    for (int i = 0; i < DeliveredFromBatches.MAX; i++) {
      kept.note("p", "r" + i, i);
    }
    assertThat(kept.take("p", "r5")).isEqualTo(5L);
    kept.note("p", "r5", 5);
    kept.note("p", "one more", 9);
    assertThat(kept.take("p", "r6")).as("cleared at the bound").isNull();
    assertThat(kept.take("p", "one more")).isEqualTo(9L);

    String id = "x".repeat(1_000);
    long fit = DeliveredFromBatches.MAX_CHARS / id.length();
    for (int i = 0; i < fit; i++) {
      kept.note("p", id + i, i);
    }
    kept.note("p", "last", 1);
    assertThat(kept.take("p", id + 0)).as("cleared at the ids' characters").isNull();
    assertThat(kept.take("p", "last")).isEqualTo(1L);
  }

  @Test
  void aPipelineWhoseRecordsAreNeverTakenIsNoLongerTrackedAtTheBound() {
    DeliveredFromBatches kept = new DeliveredFromBatches();
    kept.track("p");
    kept.note("p", "taken", 1);
    assertThat(kept.take("p", "taken")).isEqualTo(1L);
    for (int i = 0; i <= DeliveredFromBatches.MAX; i++) {
      kept.note("p", "r" + i, i);
    }
    assertThat(kept.take("p", "r" + DeliveredFromBatches.MAX))
        .as("a record was taken before the bound: the others are only forgotten")
        .isEqualTo((long) DeliveredFromBatches.MAX);

    DeliveredFromBatches unused = new DeliveredFromBatches();
    unused.track("p");
    for (int i = 0; i <= DeliveredFromBatches.MAX; i++) {
      unused.note("p", "r" + i, i); // none taken: a later run without lineage
    }
    unused.note("p", "after", 2);
    assertThat(unused.take("p", "after")).as("no longer tracked").isNull();
    assertThat(unused.take("p", "r0")).isNull();

    unused.track("p"); // a run with lineage appends again
    unused.note("p", "again", 3);
    assertThat(unused.take("p", "again")).isEqualTo(3L);
  }
}
