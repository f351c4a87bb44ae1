package dev.pipeline.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import dev.pipeline.Pipeline;
import dev.pipeline.PipelineRun;
import dev.pipeline.RunResult;
import dev.pipeline.store.InMemoryPipelineStore;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

/**
 * The child JVM of the memory target (started with a small {@code -Xmx}): pushes records from a
 * lazy source through the eight trivial stages, with the default in-memory store, and reports the
 * heap on standard output as {@code RESULT key value} lines.
 *
 * <p>Heap figures: every collection's heap use after it (GC notifications; the largest is the peak
 * live set the pipeline needed), the largest use seen at all (before any collection, and sampled
 * every 5 ms), and the heap after a full collection at milestones of records done. With {@code
 * histogram}, prints the live class histogram at the middle milestone as {@code HISTO} lines.
 *
 * <p>Usage: {@code MemoryChild <records> [histogram]}.
 */
public final class MemoryChild {
  private static final String EXPLICIT = "System.gc()";

  private final Set<String> heapPools = new HashSet<>();
  private final AtomicLong maxAfterGc = new AtomicLong();
  private final AtomicLong maxUsed = new AtomicLong();
  private final AtomicLong explicitAfter = new AtomicLong(-1);
  private final AtomicLong explicitCount = new AtomicLong();
  private final LongAdder collections = new LongAdder();

  private MemoryChild() {
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        heapPools.add(pool.getName());
      }
    }
  }

  /** Runs the records through; exits 0 when the run completed. */
  public static void main(String[] args) throws Exception {
    long records = Long.parseLong(args[0]);
    boolean histogram = args.length > 1 && args[1].equals("histogram");
    new MemoryChild().run(records, histogram);
  }

  private void run(long records, boolean histogram) throws Exception {
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((NotificationEmitter) gc).addNotificationListener((n, h) -> onGc(n), null, null);
    }
    Thread sampler =
        Thread.ofPlatform()
            .daemon()
            .name("heap-sampler")
            .start(
                () -> {
                  while (true) {
                    maxUsed.accumulateAndGet(
                        ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
                        Math::max);
                    try {
                      Thread.sleep(5);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
    report("gc", collectorNames());
    report("maxHeap", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getMax());
    report("floor", fullGc());

    long[] milestones = {records / 10, records / 2};
    LongAdder sum = new LongAdder();
    try (Pipeline<Long, Long> pipeline =
        TrivialStages.pipeline(
            "memory", TrivialStages.COUNT, options -> {}, sum, InMemoryPipelineStore.create())) {
      long start = System.nanoTime();
      PipelineRun run = pipeline.start(TrivialStages.source(records));
      int next = 0;
      RunResult result;
      while ((result = run.await(Duration.ofMillis(10)).orElse(null)) == null) {
        long done = run.progress().done();
        if (next < milestones.length && done >= milestones[next]) {
          report("heapAfterGcAt:" + done, fullGc());
          if (histogram && next == milestones.length - 1) {
            printHistogram();
          }
          next++;
        }
      }
      long took = System.nanoTime() - start;
      Targets.requireComplete(result, records);
      report("heapAfterGcAt:" + result.published(), fullGc());
      report("seconds", String.format(Locale.ROOT, "%.1f", took / 1e9));
      report("sum", sum.sum());
      report("store", pipeline.store().counts("memory").toString());
    }
    sampler.interrupt();
    report("maxAfterGc", maxAfterGc.get());
    report("maxUsed", maxUsed.get());
    report("collections", collections.sum());
  }

  private void onGc(Notification notification) {
    if (!notification
        .getType()
        .equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
      return;
    }
    GarbageCollectionNotificationInfo info =
        GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
    long before = heapUsed(info.getGcInfo().getMemoryUsageBeforeGc());
    long after = heapUsed(info.getGcInfo().getMemoryUsageAfterGc());
    maxUsed.accumulateAndGet(before, Math::max);
    if (EXPLICIT.equals(info.getGcCause())) {
      explicitAfter.set(after);
      explicitCount.incrementAndGet();
    } else {
      // explicit full collections are the measurements, not the run's own need
      maxAfterGc.accumulateAndGet(after, Math::max);
      collections.increment();
    }
  }

  private long heapUsed(Map<String, MemoryUsage> usage) {
    long used = 0;
    for (Map.Entry<String, MemoryUsage> pool : usage.entrySet()) {
      if (heapPools.contains(pool.getKey())) {
        used += pool.getValue().getUsed();
      }
    }
    return used;
  }

  /** A full collection; returns the heap used after it, as its GC notification reports it. */
  private long fullGc() throws InterruptedException {
    long seen = explicitCount.get();
    System.gc();
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (explicitCount.get() == seen && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    if (explicitCount.get() == seen) {
      return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
    return explicitAfter.get();
  }

  private static String collectorNames() {
    List<String> names = new ArrayList<>();
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      names.add(gc.getName().replace(' ', '_'));
    }
    return String.join(",", names);
  }

  private static void printHistogram() throws Exception {
    Object text =
        ManagementFactory.getPlatformMBeanServer()
            .invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"),
                "gcClassHistogram",
                new Object[] {new String[0]},
                new String[] {String[].class.getName()});
    String[] lines = String.valueOf(text).split("\n");
    for (int i = 0; i < Math.min(lines.length, 14); i++) {
      System.out.println("HISTO " + lines[i]);
    }
    if (lines.length > 0) {
      System.out.println("HISTO " + lines[lines.length - 1]);
    }
  }

  private static void report(String key, Object value) {
    System.out.println("RESULT " + key + " " + value);
  }
}
