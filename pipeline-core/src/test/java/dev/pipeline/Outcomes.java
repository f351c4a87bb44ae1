package dev.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.Page;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks that a finished run accounted for every record once: store, sink, dead letters, result.
 */
final class Outcomes {
  private Outcomes() {}

  /** Every dead letter of the pipeline, following the cursor page by page. */
  static List<DeadLetter> deadLetters(Pipeline<?, ?> pipeline) {
    List<DeadLetter> all = new ArrayList<>();
    DeadLetterQuery query = DeadLetterQuery.all().limit(1_000);
    while (true) {
      Page<DeadLetter> page = pipeline.deadLetters().find(query);
      all.addAll(page.items());
      if (!page.hasNext()) {
        return all;
      }
      query = query.after(page.nextCursor());
    }
  }

  /** The dead letter of one record. */
  static DeadLetter deadLetter(Pipeline<?, ?> pipeline, String id) {
    return deadLetters(pipeline).stream()
        .filter(d -> d.recordId().equals(id))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no dead letter for " + id));
  }

  static RecordState state(Pipeline<?, ?> pipeline, String id) {
    return pipeline
        .store()
        .find(pipeline.name(), id)
        .orElseThrow(() -> new AssertionError("the store does not know record " + id));
  }

  /**
   * Asserts that each id ended in exactly one terminal state and that the store, the sink, the dead
   * letter queue and the result agree on how many ended in each.
   */
  static void assertEachEndedOnce(
      Pipeline<?, ?> pipeline,
      RunResult result,
      Collection<String> ids,
      Collection<? extends Envelope<?>> sunk) {
    List<String> sunkIds = sunk.stream().map(Envelope::id).toList();
    assertThat(sunkIds).as("records published twice").doesNotHaveDuplicates();
    List<String> deadIds = deadLetters(pipeline).stream().map(DeadLetter::recordId).toList();
    assertThat(deadIds).as("records dead-lettered twice").doesNotHaveDuplicates();
    Set<String> sunkSet = new HashSet<>(sunkIds);
    Set<String> deadSet = new HashSet<>(deadIds);
    long filtered = 0;
    for (String id : ids) {
      RecordState state = state(pipeline, id);
      assertThat(state.status().isTerminal()).as("%s is terminal", state).isTrue();
      assertThat(sunkSet.contains(id))
          .as("%s in the sink", id)
          .isEqualTo(state.status() == RecordStatus.PUBLISHED);
      assertThat(deadSet.contains(id))
          .as("%s in the dead letters", id)
          .isEqualTo(state.status() == RecordStatus.DEAD_LETTER);
      if (state.status() == RecordStatus.FILTERED) {
        filtered++;
      }
    }
    assertThat(sunkSet).isSubsetOf(ids);
    assertThat(deadSet).isSubsetOf(ids);
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.unfinished()).isZero();
    assertThat(result.published()).isEqualTo(sunkIds.size());
    assertThat(result.deadLettered()).isEqualTo(deadIds.size());
    assertThat(result.filtered()).isEqualTo(filtered);
    assertThat(result.published() + result.filtered() + result.deadLettered())
        .isEqualTo(ids.size());
    StatusCounts counts = pipeline.store().counts(pipeline.name());
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(result.published());
    assertThat(counts.get(RecordStatus.FILTERED)).isEqualTo(result.filtered());
    assertThat(counts.get(RecordStatus.DEAD_LETTER)).isEqualTo(result.deadLettered());
    assertThat(counts.get(RecordStatus.READY)).isZero();
  }
}
