package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Await;
import dev.pipeline.Envelope;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RecordQueueTest {

  private static List<Envelope<Object>> records(String... ids) {
    List<Envelope<Object>> out = new ArrayList<>();
    for (String id : ids) {
      out.add(Envelope.of(id, id));
    }
    return out;
  }

  private static List<String> ids(List<Envelope<Object>> records) {
    return records.stream().map(Envelope::id).toList();
  }

  /** Starts a thread and waits until it blocks (parks) or ends. */
  private static Thread blocking(Runnable task) {
    Thread thread = Thread.ofVirtual().start(task);
    Await.until(
        "the thread blocks", () -> thread.getState() == Thread.State.WAITING || !thread.isAlive());
    return thread;
  }

  @Test
  void takeGivesAtMostMaxRecordsInOrder() throws Exception {
    RecordQueue queue = new RecordQueue(10, 1);
    queue.put(records("a", "b", "c"));
    queue.put(records("d"));

    assertThat(ids(queue.take(2))).containsExactly("a", "b");
    assertThat(ids(queue.take(5))).containsExactly("c", "d");
    assertThat(queue.size()).isZero();
  }

  @Test
  void aSharingTakerTakesItsShareOfWhatWaitsCountingTheTakersWaitingBesideIt() throws Exception {
    RecordQueue queue = new RecordQueue(100, 1);
    List<AtomicReference<List<Envelope<Object>>>> taken = new ArrayList<>();
    List<Thread> takers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      AtomicReference<List<Envelope<Object>>> got = new AtomicReference<>();
      taken.add(got);
      takers.add(
          blocking(
              () -> {
                try {
                  got.set(queue.take(128, true));
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }));
    }

    queue.put(records("a", "b", "c", "d", "e", "f", "g", "h", "i"));
    for (Thread taker : takers) {
      Await.ended(taker);
    }

    assertThat(taken)
        .as("nine records handed on at once, spread over the three idle takers")
        .allSatisfy(got -> assertThat(got.get()).hasSize(3));
  }

  @Test
  void aTakerThatDoesNotShareTakesUpToMaxAndOneAloneTakesAll() throws Exception {
    RecordQueue queue = new RecordQueue(100, 1);
    AtomicReference<List<Envelope<Object>>> plain = new AtomicReference<>();
    AtomicReference<List<Envelope<Object>>> sharing = new AtomicReference<>();
    Thread first =
        blocking(
            () -> {
              try {
                plain.set(queue.take(128));
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    Thread second =
        blocking(
            () -> {
              try {
                sharing.set(queue.take(128, true));
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });

    queue.put(records("a", "b", "c", "d"));
    Await.ended(first);
    queue.put(records("e", "f", "g"));
    Await.ended(second);

    assertThat(ids(plain.get()))
        .as("the longest waiting, not sharing: all, though another taker waits")
        .containsExactly("a", "b", "c", "d");
    assertThat(ids(sharing.get())).as("sharing, but alone: all").containsExactly("e", "f", "g");
  }

  @Test
  void putWaitsWhileFullAndGoesOnOnceRecordsAreTaken() throws Exception {
    RecordQueue queue = new RecordQueue(2, 1);
    queue.put(records("a", "b"));
    AtomicBoolean added = new AtomicBoolean();

    Thread producer =
        blocking(
            () -> {
              try {
                added.set(queue.put(records("c")));
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });

    assertThat(producer.isAlive()).as("put blocks on a full queue").isTrue();
    assertThat(queue.take(1)).hasSize(1);
    Await.ended(producer);
    assertThat(added).isTrue();
    assertThat(ids(queue.take(10))).containsExactly("b", "c");
  }

  @Test
  void batchLargerThanTheCapacityGoesInWholeWhenThereIsRoom() throws Exception {
    RecordQueue queue = new RecordQueue(2, 1);
    queue.put(records("a"));

    assertThat(queue.put(records("b", "c", "d", "e"))).isTrue();

    assertThat(queue.size()).isEqualTo(5);
  }

  @Test
  void takeWaitsForRecordsAndReturnsNullOnceEveryProducerIsDoneAndTheQueueDrained()
      throws Exception {
    RecordQueue queue = new RecordQueue(10, 2);
    AtomicReference<List<Envelope<Object>>> taken = new AtomicReference<>();
    Thread consumer =
        blocking(
            () -> {
              try {
                taken.set(queue.take(10));
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });

    queue.put(records("a"));
    Await.ended(consumer);
    assertThat(ids(taken.get())).containsExactly("a");

    queue.put(records("b"));
    queue.producerDone();
    assertThat(ids(queue.take(10))).as("one producer is left").containsExactly("b");
    queue.producerDone();
    assertThat(queue.take(10)).isNull();
  }

  @Test
  void cancelWakesWaitingTakersAndPuttersAndDropsTheRecords() throws Exception {
    RecordQueue full = new RecordQueue(1, 1);
    full.put(records("a"));
    RecordQueue empty = new RecordQueue(1, 1);
    AtomicBoolean added = new AtomicBoolean(true);
    AtomicBoolean tookNull = new AtomicBoolean();
    Thread producer =
        blocking(
            () -> {
              try {
                added.set(full.put(records("b")));
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    Thread consumer =
        blocking(
            () -> {
              try {
                tookNull.set(empty.take(1) == null);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });

    assertThat(ids(full.cancel())).containsExactly("a");
    empty.cancel();

    Await.ended(producer);
    Await.ended(consumer);
    assertThat(added).isFalse();
    assertThat(tookNull).isTrue();
    assertThat(full.take(1)).isNull();
  }

  private static final long HOUR = java.util.concurrent.TimeUnit.HOURS.toNanos(1);

  /** Starts a taker with a floor and waits until it lingers for more records. */
  private static Thread lingering(
      RecordQueue queue, int floor, AtomicReference<List<Envelope<Object>>> got) {
    Thread thread =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    got.set(queue.take(16, false, floor, HOUR));
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
    Await.until(
        "the taker lingers",
        () -> thread.getState() == Thread.State.TIMED_WAITING || !thread.isAlive());
    return thread;
  }

  @Test
  void aTakerWithAFloorWaitsForItWhileProducersRemain() throws Exception {
    RecordQueue queue = new RecordQueue(100, 1);
    queue.put(records("a", "b"));
    AtomicReference<List<Envelope<Object>>> got = new AtomicReference<>();
    Thread taker = lingering(queue, 4, got);
    assertThat(got.get()).isNull();

    queue.put(records("c"));
    Await.until("the taker looks again", () -> queue.size() == 3 && taker.isAlive());
    assertThat(got.get()).isNull();
    queue.put(records("d", "e"));
    taker.join();

    assertThat(ids(got.get())).containsExactly("a", "b", "c", "d", "e");
  }

  @Test
  void aTakerWithAFloorTakesWhatWaitsOnceTheProducersAreDone() throws Exception {
    RecordQueue queue = new RecordQueue(100, 1);
    queue.put(records("a", "b"));
    AtomicReference<List<Envelope<Object>>> got = new AtomicReference<>();
    Thread taker = lingering(queue, 4, got);

    queue.producerDone();
    taker.join();

    assertThat(ids(got.get())).containsExactly("a", "b");
  }

  @Test
  void aTakerWithAFloorTakesWhatWaitsWhenItsLingerIsOver() throws Exception {
    RecordQueue queue = new RecordQueue(100, 1);
    queue.put(records("a", "b"));

    assertThat(ids(queue.take(16, false, 4, 1))).containsExactly("a", "b");
    queue.put(records("c", "d", "e", "f", "g"));
    assertThat(ids(queue.take(3, false, 4, HOUR))).containsExactly("c", "d", "e");
  }

  @Test
  void aFloorAboveTheCapacityWaitsForNoMoreThanTheProducersMayPut() throws Exception {
    RecordQueue queue = new RecordQueue(2, 1);
    queue.put(records("a", "b")); // full: the producer waits for room before its next batch

    assertThat(ids(queue.take(16, false, 16, HOUR))).containsExactly("a", "b");
  }

  @Test
  void aLingeringTakerGetsNothingWhenTheQueueIsCancelled() throws Exception {
    RecordQueue queue = new RecordQueue(100, 1);
    queue.put(records("a"));
    AtomicReference<List<Envelope<Object>>> got = new AtomicReference<>(records("x"));
    Thread taker = lingering(queue, 4, got);

    assertThat(ids(queue.cancel())).containsExactly("a");
    taker.join();

    assertThat(got.get()).isNull();
  }
}
