package dev.pipeline.jdbc;

import dev.pipeline.jdbc.BatchLedger.Batch;
import dev.pipeline.jdbc.BatchLedger.Entry;
import dev.pipeline.jdbc.BatchLedger.Slot;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * What this worker knows of the batches of the {@link BatchLedger} it holds: per pipeline, each
 * record still in flight in a batch (its slot: the batch, the entry as ingested, whether it was
 * handed to the sink), and the batches by lease token. A batch is forgotten with its last record.
 * Only memory: the writes that keep the database in step are {@link BatchWrites}'. Thread-safe.
 */
final class HeldBatches {
  private final Map<String, PipelineBatches> pipelines = new ConcurrentHashMap<>();

  private static final class PipelineBatches {
    final Map<String, Slot> slots = new ConcurrentHashMap<>();
    final Map<Long, Batch> byToken = new ConcurrentHashMap<>();
    // per batch, how many of its records are held here: a batch is forgotten with its last one
    final Map<Batch, Integer> held = new ConcurrentHashMap<>();

    void drop(Batch b) {
      if (held.computeIfPresent(b, (k, n) -> n == 1 ? null : n - 1) == null) {
        byToken.remove(b.token(), b);
      }
    }
  }

  private PipelineBatches of(String pipeline) {
    return pipelines.computeIfAbsent(pipeline, p -> new PipelineBatches());
  }

  /** The slot of a record this worker holds in a batch, or null (a row, or not held). */
  @Nullable Slot slot(String pipeline, String id) {
    PipelineBatches p = pipelines.get(pipeline);
    return p == null ? null : p.slots.get(id);
  }

  /** Whether any of these records is held here in a batch. */
  boolean anyIn(String pipeline, Collection<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null || p.slots.isEmpty()) {
      return false;
    }
    for (String id : ids) {
      if (p.slots.containsKey(id)) {
        return true;
      }
    }
    return false;
  }

  /** Notes a batch this worker now holds, with its records in flight. */
  void hold(String pipeline, Batch batch, Collection<Entry> entries, Set<Integer> noted) {
    PipelineBatches p = of(pipeline);
    p.byToken.put(batch.token(), batch);
    int added = 0;
    for (Entry e : entries) {
      Slot before = p.slots.put(e.id(), new Slot(batch, e, noted.contains(e.seq())));
      if (before == null || !before.batch().equals(batch)) {
        added++;
      }
      if (before != null && !before.batch().equals(batch)) {
        p.drop(before.batch());
      }
    }
    if (added > 0) {
      p.held.merge(batch, added, Integer::sum);
    }
  }

  /** Forgets records (ended, moved, lost); a batch with none left is forgotten too. */
  void forget(String pipeline, Collection<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return;
    }
    for (String id : ids) {
      Slot s = p.slots.remove(id);
      if (s != null) {
        p.drop(s.batch());
      }
    }
  }

  /** Marks records as handed to the sink once, so that a second hand-over is flagged. */
  void noted(String pipeline, Collection<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return;
    }
    for (String id : ids) {
      p.slots.computeIfPresent(id, (k, s) -> s.noted() ? s : new Slot(s.batch(), s.entry(), true));
    }
  }

  /** Forgets every batch of the pipeline, returning those held (for a release). */
  List<Batch> releaseAll(String pipeline) {
    PipelineBatches p = pipelines.remove(pipeline);
    return p == null ? List.of() : new ArrayList<>(p.byToken.values());
  }

  /** The batches this worker holds under these tokens. */
  List<Batch> batchesOf(String pipeline, Collection<Long> tokens) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return List.of();
    }
    List<Batch> out = new ArrayList<>();
    for (Long t : tokens) {
      Batch b = p.byToken.get(t);
      if (b != null) {
        out.add(b);
      }
    }
    return out;
  }

  /** Of these ids, those not held here in a batch (rows, to renew one by one). */
  List<String> notInBatches(String pipeline, List<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null || p.slots.isEmpty()) {
      return ids;
    }
    List<String> out = new ArrayList<>(ids.size());
    for (String id : ids) {
      if (!p.slots.containsKey(id)) {
        out.add(id);
      }
    }
    return out;
  }

  /**
   * Every record held here in one of these batches, not only those a caller asked about: a renewal
   * of a batch's lease renews them all. A scan of the records held, made only when leases were
   * renewed after a doubt, at most once a lease per batch.
   */
  List<String> idsIn(String pipeline, Set<Batch> batches) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null || batches.isEmpty()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    p.slots.forEach(
        (id, s) -> {
          if (batches.contains(s.batch())) {
            out.add(id);
          }
        });
    return out;
  }

  /** Records grouped by their batch, in batch id order (one lock order for all writers). */
  Map<Batch, List<Slot>> byBatch(String pipeline, Collection<String> ids) {
    Map<Long, Batch> order = new TreeMap<>();
    Map<Batch, List<Slot>> out = new LinkedHashMap<>();
    Map<Batch, List<Slot>> grouped = new HashMap<>();
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return out;
    }
    for (String id : new java.util.LinkedHashSet<>(ids)) {
      Slot s = p.slots.get(id);
      if (s != null) {
        order.put(s.batch().id(), s.batch());
        grouped.computeIfAbsent(s.batch(), b -> new ArrayList<>()).add(s);
      }
    }
    for (Batch b : order.values()) {
      out.put(b, grouped.get(b));
    }
    return out;
  }
}
