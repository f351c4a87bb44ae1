package dev.pipeline.store;

import dev.pipeline.metrics.StageWindow;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The audit trail and metrics history the in-memory store keeps: a bounded ring of each per
 * pipeline, the oldest entries forgotten first. Thread-safe.
 */
final class HistoryRing {
  private final int auditCapacity;
  private final int windowCapacity;
  private final ReentrantLock lock = new ReentrantLock();
  // guarded by lock
  private final Map<String, ArrayDeque<AuditEntry>> audit = new HashMap<>();
  // guarded by lock
  private final Map<String, ArrayDeque<StageWindow>> windows = new HashMap<>();
  // guarded by lock
  private long nextId;

  HistoryRing(int auditCapacity, int windowCapacity) {
    this.auditCapacity = auditCapacity;
    this.windowCapacity = windowCapacity;
  }

  void appendAudit(List<AuditEntry> entries) {
    if (auditCapacity == 0) {
      return;
    }
    lock.lock();
    try {
      for (AuditEntry e : entries) {
        ArrayDeque<AuditEntry> ring = audit.computeIfAbsent(e.pipeline(), p -> new ArrayDeque<>());
        if (ring.size() == auditCapacity) {
          ring.removeFirst();
        }
        ring.addLast(e.withId(++nextId));
      }
    } finally {
      lock.unlock();
    }
  }

  void appendMetrics(List<StageWindow> added) {
    if (windowCapacity == 0) {
      return;
    }
    lock.lock();
    try {
      for (StageWindow w : added) {
        ArrayDeque<StageWindow> ring =
            windows.computeIfAbsent(w.pipeline(), p -> new ArrayDeque<>());
        if (ring.size() == windowCapacity) {
          ring.removeFirst();
        }
        ring.addLast(w);
      }
    } finally {
      lock.unlock();
    }
  }

  Page<AuditEntry> auditTrail(String pipeline, AuditQuery query) {
    List<AuditEntry> page = new ArrayList<>();
    boolean more = false;
    lock.lock();
    try {
      ArrayDeque<AuditEntry> ring = audit.get(pipeline);
      if (ring != null) {
        for (AuditEntry e : ring) {
          if (query.matches(e)) {
            if (page.size() == query.limit()) {
              more = true;
              break;
            }
            page.add(e);
          }
        }
      }
    } finally {
      lock.unlock();
    }
    return new Page<>(page, more ? Long.toString(page.get(page.size() - 1).id()) : null);
  }

  List<StageWindow> metricsHistory(String pipeline, String stage, Instant from, Instant to) {
    List<StageWindow> found = new ArrayList<>();
    lock.lock();
    try {
      ArrayDeque<StageWindow> ring = windows.get(pipeline);
      if (ring != null) {
        for (StageWindow w : ring) {
          if (w.stage().equals(stage) && !w.end().isBefore(from) && w.end().isBefore(to)) {
            found.add(w);
          }
        }
      }
    } finally {
      lock.unlock();
    }
    // windows arrive in order per stage, but a late one may follow a later one of another run
    found.sort((a, b) -> a.end().compareTo(b.end()));
    return found.size() > PipelineStore.MAX_HISTORY_WINDOWS
        ? List.copyOf(found.subList(0, PipelineStore.MAX_HISTORY_WINDOWS))
        : found;
  }
}
