package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/**
 * Starts a run's stage workers and runs each one's loop: take a batch from the stage's queue (sized
 * by time where the stage's are, see {@link TakeSizer}), have {@link StageWorker} work and hand it
 * on, until the queue ends; the last worker to leave of the stages that call a sink (the last
 * stage, a route stage whose branch ends at one) finishes the run.
 */
final class Workers {
  private final Run run;
  // the workers whose CPU and allocations the sampler charges to their stages
  private final List<Thread> sampled = new CopyOnWriteArrayList<>();

  Workers(Run run) {
    this.run = run;
  }

  /** Starts a worker of {@code stage}, which first finishes {@code resumed} if given. */
  void start(RunStage stage, @Nullable BatchWork resumed) {
    WorkerSlot slot = new WorkerSlot();
    stage.slots.add(slot);
    Thread worker =
        Thread.ofVirtual()
            .name(run.pipeline + "-" + stage.def.name() + "-" + stage.workerNames.incrementAndGet())
            .unstarted(() -> work(stage, slot, resumed));
    slot.thread = worker;
    run.threads.add(worker);
    ResourceSampler sampler = run.sampler;
    if (sampler != null) {
      sampler.track(worker, stage.recorder);
      sampled.add(worker);
    }
    worker.start();
  }

  /** The workers the resource sampler tracks. */
  List<Thread> sampled() {
    return sampled;
  }

  private void work(RunStage stage, WorkerSlot slot, @Nullable BatchWork resumed) {
    CallContext context = run.context(stage);
    try {
      if (resumed != null) {
        slot.work = resumed;
        run.worker.process(stage, slot, context, resumed);
      }
      List<Envelope<Object>> batch;
      AdaptiveBatchSize adaptive = stage.adaptive;
      int size = adaptive == null ? stage.def.options().batchSize() : adaptive.size();
      TakeSizer sizer = stage.timedTakes ? new TakeSizer(size) : null;
      long[] latencies = new long[size];
      // a durable run's last stage hands each batch to the sink with a store write (the delivery
      // note and what ended since): a batch of what happens to wait pays it for a few records
      boolean lingers = stage.next == null && run.store.isDurable();
      int floor = lingers ? size : 0;
      long linger = lingers ? Run.DURABLE_SINK_LINGER_NANOS : 0;
      while ((batch =
              sizer != null
                  ? stage.queue.take(sizer.size(), sizer.first())
                  : stage.queue.take(size, false, floor, linger))
          != null) {
        batch = run.stillHeld(batch);
        if (batch.isEmpty()) {
          continue;
        }
        long now = run.clock.nanoTime();
        stage.recorder.started(now);
        stage.recorder.in.add(batch.size());
        BatchWork work = new BatchWork(batch, latencies);
        latencies = work.latencies;
        if (run.lineage != null) {
          work.entered = run.clock.now();
        }
        slot.work = work;
        run.worker.process(stage, slot, context, work);
        if (sizer != null && work.split > 0 && run.store.isDurable()) {
          // a split stage: its children are stored once a batch, a write that whole batches pay
          // for (its function names no split: the first split it makes says so)
          sizer = null;
        } else if (sizer != null) {
          // the calls' time, not the hand-on's, which waits while the next queue is full
          sizer.took(batch.size(), work.busyNanos);
        }
        if (adaptive != null) {
          adaptive.record(size, batch.size(), run.clock.nanoTime() - now);
          size = adaptive.size();
        }
      }
    } catch (WorkerSlot.Abandoned e) {
      return; // a replacement owns the batch and this worker's place
    } catch (InterruptedException e) {
      if (!run.cancelled) {
        run.fail(
            new PipelineException(
                "stage '" + stage.def.name() + "' worker interrupted outside a call", e));
      }
    } catch (Throwable error) {
      run.fail(error);
    } finally {
      run.threads.remove(Thread.currentThread());
    }
    stage.slots.remove(slot);
    if (stage.next != null) {
      stage.next.queue.producerDone(); // each worker is one of the next queue's producers
    }
    if (stage.callsASink() && run.sinkWorkers.decrementAndGet() == 0) {
      run.finish();
    }
  }
}
