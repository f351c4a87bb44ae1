package dev.pipeline.engine.run;

/**
 * How many records a worker of a stage with batches sized by time takes next: as many as its calls
 * work in about {@link Run#BATCH_NANOS}, at least one and at most the stage's batch size. The time
 * per record it goes by is the least of its last {@link #WINDOW} batches': a batch slowed by a
 * pause, a descheduled carrier or a busy machine (wall time, not CPU time: a virtual thread's CPU
 * time cannot be read) does not shrink the next, and a stage that really became slow is followed
 * within {@value #WINDOW} batches. A batch's hand-on costs microseconds, which a batch of a
 * millisecond pays for, while a slow stage's large batch would hold records back from the next
 * stage for its whole time.
 *
 * <p>Not thread-safe: one per worker.
 */
final class TakeSizer {
  /** The batches whose least time per record is the estimate. */
  static final int WINDOW = 4;

  private final int batchSize;
  private final long[] recent = new long[WINDOW]; // time per record of the last batches
  private int batches;

  TakeSizer(int batchSize) {
    this.batchSize = batchSize;
  }

  /** Whether no batch was timed yet: the first take is a share of what waits (see RecordQueue). */
  boolean first() {
    return batches == 0;
  }

  /** The records to take next: the batch size until a batch's time is known. */
  int size() {
    long perRecord = perRecord();
    return perRecord <= 0 ? batchSize : Math.clamp(Run.BATCH_NANOS / perRecord, 1, batchSize);
  }

  /** Notes a batch of {@code records} whose calls took {@code nanos} in all. */
  void took(int records, long nanos) {
    if (records <= 0) {
      return;
    }
    recent[batches++ % WINDOW] = Math.max(0, nanos) / records;
  }

  /** The estimated time per record, or -1 before the first batch. */
  long perRecord() {
    if (batches == 0) {
      return -1;
    }
    long least = Long.MAX_VALUE;
    for (int i = 0, n = Math.min(batches, WINDOW); i < n; i++) {
      least = Math.min(least, recent[i]);
    }
    return least;
  }
}
