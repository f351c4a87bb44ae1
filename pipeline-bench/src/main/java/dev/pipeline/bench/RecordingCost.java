package dev.pipeline.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.pipeline.Pipeline;
import dev.pipeline.StageName;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * What resource sampling costs while a pipeline that samples is open and idle: the CPU this JVM
 * spends per second with JFR's recording running (one pipeline built with {@code
 * resourceSampling(true)} keeps it running) against the same JVM with it stopped, in alternating
 * periods. This is the part of the sampling's cost that is paid per second of wall time, whatever
 * the pipeline does, so its share of a run's CPU grows as the run gets fewer cores; the part paid
 * per sample is in the observability target. A quiet JVM spends almost nothing, so neighbours' load
 * hardly changes the figure.
 *
 * <pre>
 * java -cp pipeline-bench/target/benchmarks.jar dev.pipeline.bench.RecordingCost [seconds] [rounds]
 * </pre>
 */
public final class RecordingCost {
  private RecordingCost() {}

  /** Prints the CPU per second with and without the recording, period by period. */
  public static void main(String[] args) throws Exception {
    long seconds = args.length > 0 ? Long.parseLong(args[0]) : 20;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    for (int round = 1; round <= rounds; round++) {
      double off = cpuPerSecond(os, seconds);
      double on;
      try (Pipeline<String, String> sampling =
          Pipeline.builder("recording-cost", String.class)
              .resourceSampling(true)
              .stage(StageName.of("idle"), (String s) -> s)
              .sink(records -> {})
              .build()) {
        Thread.sleep(2_000); // JFR's start-up is not part of what a running recording costs
        on = cpuPerSecond(os, seconds);
      }
      Thread.sleep(2_000);
      System.out.printf(
          Locale.ROOT,
          "round %d: %.2f ms CPU/s without the recording, %.2f ms CPU/s with it: +%.2f ms/s"
              + " (load average %.1f)%n",
          round,
          off,
          on,
          on - off,
          os.getSystemLoadAverage());
    }
  }

  private static double cpuPerSecond(OperatingSystemMXBean os, long seconds)
      throws InterruptedException {
    long cpu = os.getProcessCpuTime();
    long start = System.nanoTime();
    Thread.sleep(seconds * 1_000);
    return (os.getProcessCpuTime() - cpu) / 1e6 / ((System.nanoTime() - start) / 1e9);
  }
}
