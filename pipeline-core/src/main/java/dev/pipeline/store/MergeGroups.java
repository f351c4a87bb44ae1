package dev.pipeline.store;

import dev.pipeline.Envelope;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.MergedGroup;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The merge groups of an {@link InMemoryPipelineStore}: per pipeline and parent, the parts that
 * arrived (their payloads) and those marked absent. One lock over all of them: a call holds it for
 * a few map operations per part. Complete groups are kept, so that a part given again finds its
 * group complete, up to a bound (the oldest forgotten first), as the store forgets completed
 * records.
 */
final class MergeGroups {
  private static final Object ABSENT = new Object();

  private final int retainComplete;
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<Key, Group> open = new HashMap<>();
  private final LinkedHashMap<Key, Group> complete = new LinkedHashMap<>();

  MergeGroups(int retainComplete) {
    this.retainComplete = Math.max(1, retainComplete);
  }

  private record Key(String pipeline, String parentId) {}

  private static final class Group {
    final int size;
    // grown to the highest index given, not allocated for the size: a size is a child's metadata,
    // and one part claiming a group of 100,000 must not make the store hold 100,000 slots
    @Nullable Object[] parts;
    int arrived;

    Group(int size) {
      this.size = size;
      this.parts = new Object[Math.min(size, 16)];
    }

    @Nullable Object get(int index) {
      return index < parts.length ? parts[index] : null;
    }

    void set(int index, Object part) {
      if (index >= parts.length) {
        parts = Arrays.copyOf(parts, (int) Math.min(size, Math.max(index + 1L, 2L * parts.length)));
      }
      parts[index] = part;
    }

    MergedGroup merged(String parentId) {
      List<Object> payloads = new ArrayList<>(arrived);
      for (Object part : parts) {
        if (part != null && part != ABSENT) {
          payloads.add(part);
        }
      }
      return new MergedGroup(parentId, size, payloads);
    }
  }

  /**
   * Whether the complete group of {@code parentId} is kept: its merged record must then be kept too
   * (see {@link MergedGroup#parentOfMerged(String)}).
   */
  boolean keepsComplete(String pipeline, String parentId) {
    lock.lock();
    try {
      return complete.containsKey(new Key(pipeline, parentId));
    } finally {
      lock.unlock();
    }
  }

  MergeOutcome merge(String pipeline, List<MergePart> parts) {
    Map<String, MergedGroup> done = new LinkedHashMap<>();
    Set<String> late = new HashSet<>();
    Map<String, String> refused = new HashMap<>(0);
    lock.lock();
    try {
      for (MergePart part : parts) {
        Key key = new Key(pipeline, part.parentId());
        Group group = complete.get(key);
        if (group == null) {
          group = open.computeIfAbsent(key, k -> new Group(part.size()));
        }
        String misfit = MergeOutcome.misfit(part, group.size);
        if (misfit != null) {
          refused.put(part.recordId(), misfit);
          continue;
        }
        Envelope<?> record = part.record();
        Object kept = group.get(part.index());
        if (kept == null) {
          group.set(part.index(), record == null ? ABSENT : record.payload());
          group.arrived++;
        } else if (kept == ABSENT && record != null) {
          if (group.arrived == group.size) {
            late.add(part.recordId());
          } else {
            group.set(part.index(), record.payload());
          }
        }
        if (group.arrived == group.size && open.remove(key) != null) {
          complete.put(key, group);
          if (complete.size() > retainComplete) {
            complete.pollFirstEntry();
          }
        }
        if (group.arrived == group.size) {
          done.putIfAbsent(part.parentId(), group.merged(part.parentId()));
        }
      }
    } finally {
      lock.unlock();
    }
    return new MergeOutcome(new ArrayList<>(done.values()), late, refused);
  }
}
