package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Before each stage and the sink a durable run checks that it still holds the leases of the batch
 * in hand. It asks the store first which of them it cannot vouch for from memory ({@code inDoubt}),
 * and asks {@code notHeld}, which may go to the database and is timed as a store call, only about
 * those: before, every batch at every stage went through the timed call and its locks.
 */
class InDoubtLeasesTest {
  private static final int RECORDS = 300;
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /**
   * A durable store that vouches for the leases of odd-numbered records only, and says another
   * worker took over (and published) those ending in 0; it notes what {@code notHeld} was asked.
   */
  private static final class VouchingStore extends ForwardingStore {
    final List<String> asked = new CopyOnWriteArrayList<>();
    final boolean vouchForAll;

    VouchingStore(boolean vouchForAll) {
      super(InMemoryPipelineStore.create());
      this.vouchForAll = vouchForAll;
    }

    @Override
    public boolean isDurable() {
      return true;
    }

    @Override
    public Collection<String> inDoubt(String pipeline, Collection<String> recordIds) {
      return vouchForAll
          ? List.of()
          : recordIds.stream().filter(id -> number(id) % 2 == 0).toList();
    }

    @Override
    public Set<String> notHeld(String pipeline, Collection<String> recordIds) {
      asked.addAll(recordIds);
      Set<String> gone =
          recordIds.stream().filter(id -> number(id) % 10 == 0).collect(Collectors.toSet());
      // the other worker publishes them
      delegate.complete(
          pipeline,
          gone.stream()
              .map(
                  id ->
                      new Completion(
                          id, RecordStatus.PUBLISHED, "publishing", null, null, List.of(), 1, T0))
              .toList());
      return gone;
    }
  }

  private static int number(String id) {
    return Integer.parseInt(id.substring(1));
  }

  private static RunResult run(VouchingStore store, Collection<String> sink) {
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("in-doubt", String.class)
            .clock(new FakeClock())
            .store(store)
            .inputCodec(PayloadCodec.string())
            .stage(CLEANING, (String s) -> s)
            .stage(PUBLISHING, (String s) -> s)
            .sink(batch -> batch.forEach(e -> sink.add(e.id())))
            .build()) {
      return pipeline.run(
          Source.of(
              "src",
              IntStream.rangeClosed(1, RECORDS).mapToObj(i -> "r" + i).iterator(),
              id -> id));
    }
  }

  @Test
  void onlyTheLeasesInDoubtAreCheckedAndTheRecordsNoLongerHeldAreDropped() {
    VouchingStore store = new VouchingStore(false);
    Collection<String> sink = new ConcurrentLinkedQueue<>();

    RunResult result = run(store, sink);

    assertThat(store.asked).as("asked only of records in doubt").isNotEmpty();
    assertThat(store.asked).allSatisfy(id -> assertThat(number(id) % 2).isZero());
    List<String> takenOver =
        IntStream.rangeClosed(1, RECORDS / 10).mapToObj(i -> "r" + i * 10).toList();
    assertThat(sink).as("what another worker took over").doesNotContainAnyElementsOf(takenOver);
    assertThat(sink).hasSize(RECORDS - takenOver.size());
    assertThat(result.published()).isEqualTo(RECORDS - takenOver.size());
  }

  @Test
  void leasesVouchedForAreNeverCheckedAgainstTheStore() {
    VouchingStore store = new VouchingStore(true);
    Collection<String> sink = new ConcurrentLinkedQueue<>();

    RunResult result = run(store, sink);

    assertThat(store.asked).isEmpty();
    assertThat(sink).hasSize(RECORDS);
    assertThat(result.published()).isEqualTo(RECORDS);
  }
}
