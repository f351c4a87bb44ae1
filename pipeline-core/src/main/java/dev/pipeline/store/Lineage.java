package dev.pipeline.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A record's lineage: the events a pipeline kept of it, oldest first, with the record it was split
 * from and the records it was split into. Empty when the pipeline keeps no lineage of it (its level
 * is {@code NONE}, the record was not sampled, or it passed every stage under {@code FAILURES}), or
 * when the store has dropped it (the in-memory store keeps a bounded number of events).
 *
 * @param recordId the record's id
 * @param events what happened to it, stage by stage, oldest first
 * @param parentId the id of the record it was split from, if any
 * @param childIds the ids of the records it was split into, if any
 */
public record Lineage(
    String recordId, List<LineageEvent> events, @Nullable String parentId, List<String> childIds) {

  /** Copies the lists. */
  public Lineage {
    Objects.requireNonNull(recordId, "recordId");
    events = List.copyOf(events);
    childIds = List.copyOf(childIds);
  }

  /**
   * The lineage of a record from its events: its parent from any event that names one, its children
   * (ids {@code <id>/<index>}) from its {@code SPLIT} event.
   */
  public static Lineage of(String recordId, List<LineageEvent> events) {
    String parent = null;
    List<String> children = new ArrayList<>();
    for (LineageEvent e : events) {
      if (e.parentId() != null) {
        parent = e.parentId();
      }
      if (e.outcome() == LineageOutcome.SPLIT && children.isEmpty()) {
        for (int i = 0; i < e.children(); i++) {
          children.add(recordId + "/" + i);
        }
      }
    }
    return new Lineage(recordId, events, parent, children);
  }

  /** Whether nothing of the record was kept. */
  public boolean isEmpty() {
    return events.isEmpty();
  }
}
