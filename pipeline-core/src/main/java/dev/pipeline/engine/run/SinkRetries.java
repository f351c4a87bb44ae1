package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.store.spi.Claimed;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The records a run is handing to the sink on a durable store, and the look at their leases before
 * a failed sink call is retried.
 *
 * <p>While a sink call waits to be retried, a pause longer than the lease lets another worker take
 * the records over; if that worker gives them back, this run's own claimer may claim them again and
 * deliver them under a higher fencing token. The copies waiting for the retry are then stale
 * although this worker holds the records again, so the lease check alone cannot tell: the claimer
 * marks what it claims of the records at the sink (noted before their first call, so a claim at any
 * moment of the batch is seen), under the same lock as the check, and the check drops those as well
 * as the records another worker holds.
 */
final class SinkRetries {
  private final Run run;
  private final ReentrantLock lock = new ReentrantLock();
  private final Set<String> waiting = ConcurrentHashMap.newKeySet();
  private final Set<String> claimedAgain = ConcurrentHashMap.newKeySet();

  SinkRetries(Run run) {
    this.run = run;
  }

  /** Notes the records of a batch about to be handed to the sink. */
  void waiting(List<Envelope<Object>> records) {
    for (Envelope<Object> e : records) {
      waiting.add(e.id());
    }
  }

  /** Forgets the records of a sink batch that is done with (ended, parked or left unfinished). */
  void done(List<Envelope<Object>> records) {
    for (Envelope<Object> e : records) {
      waiting.remove(e.id());
      claimedAgain.remove(e.id());
    }
  }

  /** The store's claim, with the waiting records it hands back marked as claimed again. */
  List<Claimed> claim(Supplier<List<Claimed>> claim) {
    lock.lock();
    try {
      List<Claimed> claimed = claim.get();
      if (!waiting.isEmpty()) {
        for (Claimed c : claimed) {
          String id = c.record().id();
          if (waiting.contains(id)) {
            claimedAgain.add(id);
          }
        }
      }
      return claimed;
    } finally {
      lock.unlock();
    }
  }

  /**
   * The records of a sink call about to be retried that this run may still hand to the sink: not
   * those another worker took over, nor those this run's claimer claimed again since (both are
   * counted as taken over).
   */
  List<Envelope<Object>> stillHeld(List<Envelope<Object>> records) {
    lock.lock();
    try {
      if (claimedAgain.isEmpty()) {
        return run.stillHeld(records);
      }
      List<Envelope<Object>> kept = new ArrayList<>(records.size());
      for (Envelope<Object> e : records) {
        if (!claimedAgain.contains(e.id())) {
          kept.add(e);
        }
      }
      if (kept.size() != records.size()) {
        // the newer copy is in flight in this run: what the run keeps about the id is its own
        run.takenOver.add(records.size() - kept.size());
        run.wakeClaimer();
      }
      return run.stillHeld(kept);
    } finally {
      lock.unlock();
    }
  }
}
