package dev.pipeline.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How many cores this JVM used during a measurement, and how many the rest of the machine used
 * (from {@code /proc/stat}, on Linux). On a small machine a neighbour's build that takes a core
 * halves a pipeline while a single-threaded loop does not notice, so a ratio of the two is only
 * worth keeping from a round the neighbours left alone.
 */
final class CpuMeter {
  /**
   * A round is disturbed when the rest of the machine used more cores than this while the machine
   * was (nearly) full.
   */
  static final double DISTURBED = 0.25;

  private static final int CORES = Runtime.getRuntime().availableProcessors();

  private static final Path PROC_STAT = Path.of("/proc/stat");
  private static final double TICKS_PER_SECOND = 100; // USER_HZ on Linux

  private final long startNanos;
  private final long startProcessCpu;
  private final long startMachineTicks;

  private CpuMeter() {
    startNanos = System.nanoTime();
    startProcessCpu = processCpu();
    startMachineTicks = machineBusyTicks();
  }

  static CpuMeter start() {
    return new CpuMeter();
  }

  /**
   * Cores used since the start, by this JVM and by everything else (NaN where unknown).
   *
   * @param ours this JVM's cores
   * @param others the rest of the machine's cores
   */
  record Usage(double ours, double others) {
    /** Whether other processes used the machine enough to take cores from this one. */
    boolean disturbed() {
      return others > DISTURBED && ours + others > 0.9 * CORES;
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%.2f cores (others %.2f)", ours, others);
    }
  }

  Usage stop() {
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    long process = processCpu();
    long machine = machineBusyTicks();
    if (process < 0 || startProcessCpu < 0 || seconds <= 0) {
      return new Usage(Double.NaN, Double.NaN);
    }
    double ours = (process - startProcessCpu) / 1e9 / seconds;
    if (machine < 0 || startMachineTicks < 0) {
      return new Usage(ours, Double.NaN);
    }
    double all = (machine - startMachineTicks) / TICKS_PER_SECOND / seconds;
    return new Usage(ours, Math.max(0, all - ours));
  }

  private static long processCpu() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }

  /** Busy ticks of all cores: user, nice, system, irq, softirq, steal. */
  private static long machineBusyTicks() {
    try {
      String first = Files.readAllLines(PROC_STAT, StandardCharsets.US_ASCII).get(0);
      String[] f = first.trim().split("\\s+");
      return Long.parseLong(f[1])
          + Long.parseLong(f[2])
          + Long.parseLong(f[3])
          + Long.parseLong(f[6])
          + Long.parseLong(f[7])
          + Long.parseLong(f[8]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
