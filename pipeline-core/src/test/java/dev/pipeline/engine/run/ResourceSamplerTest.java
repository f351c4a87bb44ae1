package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Await;
import java.lang.ref.WeakReference;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ResourceSamplerTest {
  // where the busy thread's garbage goes, so the JIT cannot elide the allocations
  static volatile Object kept;

  private static StageRecorder recorder(String stage) {
    return new StageRecorder(stage, 1, () -> 0, LatencyHistogram::new, StageRecorder.Live.NONE);
  }

  @Test
  void aVirtualWorkersCpuAndAllocationsAreChargedToItsStage() throws Exception {
    ResourceSampler sampler = ResourceSampler.acquire();
    assertThat(sampler).as("JFR is in this JDK").isNotNull();
    try {
      StageRecorder busy = recorder("busy");
      StageRecorder idle = recorder("idle");
      CountDownLatch go = new CountDownLatch(1);
      CountDownLatch stop = new CountDownLatch(1);
      Thread burner =
          Thread.ofVirtual()
              .unstarted(
                  () -> {
                    // spins and allocates until the samples are seen (a few hundred ms of CPU)
                    while (stop.getCount() > 0) {
                      kept = new byte[1024];
                    }
                  });
      Thread waiter = Thread.ofVirtual().unstarted(() -> awaitQuietly(go));
      sampler.track(burner, busy);
      sampler.track(waiter, idle);
      burner.start();
      waiter.start();

      Await.until(
          "CPU and allocation samples of the busy stage",
          () ->
              busy.cpuNanos.sum() >= 10 * ResourceSampler.PERIOD.toNanos()
                  && busy.allocatedBytes.sum() > 1_000_000);
      stop.countDown();
      go.countDown();
      burner.join();
      waiter.join();
      sampler.retire(List.of(burner, waiter));

      assertThat(idle.cpuNanos.sum()).as("a parked thread is never sampled running").isZero();
    } finally {
      ResourceSampler.release(sampler);
    }
  }

  @Test
  void aRetiredWorkersStageAndWhatItHoldsAreNotKeptByTheSharedSampler() throws Exception {
    ResourceSampler sampler = ResourceSampler.acquire();
    assertThat(sampler).as("JFR is in this JDK").isNotNull();
    try {
      // the sampler outlives the run (another pipeline samples): what the run held must not
      WeakReference<Object> held = runAndRetire(sampler);
      Await.until(
          "the retired stage's state collected while the sampler lingers on its thread",
          () -> {
            System.gc();
            return held.get() == null;
          });
    } finally {
      ResourceSampler.release(sampler);
    }
  }

  /** Tracks a worker of a stage that holds an object, ends and retires it; the object's ref. */
  private static WeakReference<Object> runAndRetire(ResourceSampler sampler)
      throws InterruptedException {
    Object index = new byte[1024]; // what a run's stage holds: a sink's index, a cache
    StageRecorder stage =
        new StageRecorder(
            "sink", 1, () -> index.hashCode() & 0, LatencyHistogram::new, StageRecorder.Live.NONE);
    Thread worker = Thread.ofVirtual().unstarted(() -> kept = new byte[16]);
    sampler.track(worker, stage);
    worker.start();
    worker.join();
    sampler.retire(List.of(worker));
    return new WeakReference<>(index);
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
