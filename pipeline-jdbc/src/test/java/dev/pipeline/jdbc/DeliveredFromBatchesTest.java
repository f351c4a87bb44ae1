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
  void aPipelineWhoseRecordsAreNeverTakenIsNoLongerTrackedAtItsSecondBound() {
    DeliveredFromBatches kept = new DeliveredFromBatches();
    kept.track("p");
    for (int i = 0; i <= DeliveredFromBatches.MAX; i++) {
      kept.note("p", "r" + i, i); // a first bound with none taken
    }
    assertThat(kept.take("p", "r" + DeliveredFromBatches.MAX)).isEqualTo(DeliveredFromBatches.MAX);
    for (int i = 0; i < DeliveredFromBatches.MAX; i++) {
      kept.note("p", "s" + i, i); // a second bound, a record taken since the first
    }
    kept.note("p", "x", 7);
    assertThat(kept.take("p", "x")).as("a take between bounds keeps it tracked").isEqualTo(7L);

    DeliveredFromBatches lagging = new DeliveredFromBatches();
    lagging.track("p");
    for (int i = 0; i <= DeliveredFromBatches.MAX; i++) {
      lagging.note("p", "r" + i, i); // none taken by one bound: a writer behind, say
    }
    assertThat(lagging.take("p", "r" + DeliveredFromBatches.MAX))
        .as("one bound with none taken: still tracked")
        .isEqualTo((long) DeliveredFromBatches.MAX);

    DeliveredFromBatches unused = new DeliveredFromBatches();
    unused.track("p");
    for (int i = 0; i <= 2 * DeliveredFromBatches.MAX; i++) {
      unused.note("p", "r" + i, i); // none taken at two bounds: a later run without lineage
    }
    unused.note("p", "after", 2);
    assertThat(unused.take("p", "after")).as("no longer tracked").isNull();
    assertThat(unused.take("p", "r" + (2 * DeliveredFromBatches.MAX - 1))).isNull();

    unused.track("p"); // a run with lineage appends again
    unused.note("p", "again", 3);
    assertThat(unused.take("p", "again")).isEqualTo(3L);
  }
}
