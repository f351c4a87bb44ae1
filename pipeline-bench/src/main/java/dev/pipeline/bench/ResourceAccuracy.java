package dev.pipeline.bench;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingStream;

/**
 * How far the engine's resource sampling (JFR, as {@code ResourceSampler} sets it up) is from the
 * truth: three platform threads burn different amounts of CPU and allocate, and each one's sampled
 * CPU and bytes are compared with what {@code ThreadMXBean} measured for it (which works for
 * platform threads only, hence this check on them). Run with the event to compare: {@code
 * jdk.CPUTimeSample} (the default, JDK 25 on Linux) or {@code jdk.ExecutionSample}.
 */
public final class ResourceAccuracy {
  private static final long PERIOD_NANOS = Duration.ofMillis(20).toNanos();
  static volatile Object kept;

  private ResourceAccuracy() {}

  /** Prints the error of each thread's sampled CPU and allocations. */
  public static void main(String[] args) throws Exception {
    String event = args.length > 0 ? args[0] : "jdk.CPUTimeSample";
    ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    Map<Long, LongAdder> cpu = new ConcurrentHashMap<>();
    Map<Long, LongAdder> bytes = new ConcurrentHashMap<>();
    long[] loops = {300_000_000L, 900_000_000L, 1_800_000_000L};
    long[] realCpu = new long[loops.length];
    long[] realBytes = new long[loops.length];
    Thread[] threads = new Thread[loops.length];
    try (RecordingStream stream = new RecordingStream()) {
      boolean cpuTime = event.equals("jdk.CPUTimeSample");
      if (cpuTime) {
        stream.enable(event).with("throttle", "20ms");
      } else {
        stream.enable(event).withPeriod(Duration.ofMillis(20));
      }
      stream.enable("jdk.ObjectAllocationSample").with("throttle", "100/s");
      String field = cpuTime ? "eventThread" : "sampledThread";
      stream.onEvent(event, e -> add(cpu, e.getThread(field), PERIOD_NANOS));
      stream.onEvent(
          "jdk.ObjectAllocationSample",
          e -> add(bytes, e.getThread("eventThread"), e.getLong("weight")));
      stream.startAsync();
      for (int i = 0; i < loops.length; i++) {
        int n = i;
        threads[i] =
            new Thread(
                () -> {
                  long c0 = mx.getCurrentThreadCpuTime();
                  long a0 = mx.getCurrentThreadAllocatedBytes();
                  for (long j = 0; j < loops[n]; j++) {
                    if ((j & 4095) == 0) {
                      kept = new byte[512];
                    }
                  }
                  realCpu[n] = mx.getCurrentThreadCpuTime() - c0;
                  realBytes[n] = mx.getCurrentThreadAllocatedBytes() - a0;
                });
        threads[i].start();
      }
      for (Thread t : threads) {
        t.join();
      }
      Thread.sleep(3_000); // JFR delivers its samples about a second late
    }
    for (int i = 0; i < loops.length; i++) {
      long sampledCpu = sum(cpu, threads[i]);
      long sampledBytes = sum(bytes, threads[i]);
      System.out.printf(
          Locale.ROOT,
          "%s, thread %d: CPU %d ms measured, %d ms sampled (%+.1f %%); allocated %.1f MB"
              + " measured, %.1f MB sampled (%+.1f %%)%n",
          event,
          i,
          realCpu[i] / 1_000_000,
          sampledCpu / 1_000_000,
          100.0 * (sampledCpu - realCpu[i]) / realCpu[i],
          realBytes[i] / 1e6,
          sampledBytes / 1e6,
          100.0 * (sampledBytes - realBytes[i]) / realBytes[i]);
    }
  }

  private static void add(Map<Long, LongAdder> to, RecordedThread thread, long amount) {
    if (thread != null) {
      to.computeIfAbsent(thread.getJavaThreadId(), k -> new LongAdder()).add(amount);
    }
  }

  private static long sum(Map<Long, LongAdder> of, Thread thread) {
    LongAdder a = of.get(thread.threadId());
    return a == null ? 0 : a.sum();
  }
}
