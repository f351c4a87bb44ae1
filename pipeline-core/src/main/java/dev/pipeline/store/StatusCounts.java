package dev.pipeline.store;

import java.util.EnumMap;
import java.util.Map;

/**
 * How many records of a pipeline a store holds in each state.
 *
 * @param counts records by status; every status present, zero where none
 */
public record StatusCounts(Map<RecordStatus, Long> counts) {

  /** Copies the counts, filling in zeros. */
  public StatusCounts {
    EnumMap<RecordStatus, Long> all = new EnumMap<>(RecordStatus.class);
    for (RecordStatus status : RecordStatus.values()) {
      all.put(status, counts.getOrDefault(status, 0L));
    }
    counts = Map.copyOf(all);
  }

  /** The count of one status. */
  public long get(RecordStatus status) {
    return counts.get(status);
  }
}
