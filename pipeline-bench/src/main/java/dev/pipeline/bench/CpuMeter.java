package dev.pipeline.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How many cores this JVM used during a measurement, and how many the rest of the machine used
 * (from {@code /proc/stat}, on Linux). On a small machine a neighbour's build that takes a core
 * halves a pipeline while a single-threaded loop does not notice, so a ratio of the two is only
 * worth keeping from a round the neighbours left alone.
 *
 * <p>A measurement may count other processes as its own ({@link #start(Helpers)}): the PostgreSQL
 * backends serving its connections, worker JVMs it started. Their CPU time is read from {@code
 * /proc/<pid>/stat}; a helper that appears during the measurement counts from zero, one that ends
 * before it is read is lost (and counted as the rest of the machine's).
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

  /** Processes whose CPU counts as the measurement's own; asked at the start and at the stop. */
  @FunctionalInterface
  interface Helpers {
    /** The ids of the processes now. */
    Collection<Long> pids();

    Helpers NONE = List::of;
  }

  private final Helpers helpers;
  private final long startNanos;
  private final long startProcessCpu;
  private final Map<Long, Long> startHelperTicks;
  private final long startMachineTicks;

  private CpuMeter(Helpers helpers) {
    this.helpers = helpers;
    startHelperTicks = helperTicks(helpers.pids());
    startNanos = System.nanoTime();
    startProcessCpu = processCpu();
    startMachineTicks = machineBusyTicks();
  }

  static CpuMeter start() {
    return new CpuMeter(Helpers.NONE);
  }

  /** Starts a measurement that counts the CPU of {@code helpers} as its own. */
  static CpuMeter start(Helpers helpers) {
    return new CpuMeter(helpers);
  }

  /**
   * Cores used since the start, by this JVM and by everything else (NaN where unknown).
   *
   * @param ours this JVM's cores, and its helpers'
   * @param others the rest of the machine's cores
   * @param helped the helpers' part of {@code ours} (0 without helpers)
   */
  record Usage(double ours, double others, double helped) {
    Usage(double ours, double others) {
      this(ours, others, 0);
    }

    /** Whether other processes used the machine enough to take cores from this one. */
    boolean disturbed() {
      return others > DISTURBED && ours + others > 0.9 * CORES;
    }

    @Override
    public String toString() {
      return helped > 0
          ? String.format(
              Locale.ROOT, "%.2f cores (helpers %.2f of them; others %.2f)", ours, helped, others)
          : String.format(Locale.ROOT, "%.2f cores (others %.2f)", ours, others);
    }
  }

  Usage stop() {
    Collection<Long> pids = helpers.pids(); // may ask a database: before the clock is read
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    long process = processCpu();
    long machine = machineBusyTicks();
    if (process < 0 || startProcessCpu < 0 || seconds <= 0) {
      return new Usage(Double.NaN, Double.NaN);
    }
    Map<Long, Long> helperTicks = helperTicks(pids);
    long helped = 0;
    for (Map.Entry<Long, Long> h : helperTicks.entrySet()) {
      helped += h.getValue() - startHelperTicks.getOrDefault(h.getKey(), 0L);
    }
    double helpers = helped / TICKS_PER_SECOND / seconds;
    double ours = (process - startProcessCpu) / 1e9 / seconds + helpers;
    if (machine < 0 || startMachineTicks < 0) {
      return new Usage(ours, Double.NaN, helpers);
    }
    double all = (machine - startMachineTicks) / TICKS_PER_SECOND / seconds;
    return new Usage(ours, Math.max(0, all - ours), helpers);
  }

  private static long processCpu() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }

  /** User and system ticks of each helper process that can be read. */
  private static Map<Long, Long> helperTicks(Collection<Long> pids) {
    Map<Long, Long> ticks = new HashMap<>();
    for (long pid : pids) {
      long t = processTicks(pid);
      if (t >= 0) {
        ticks.put(pid, t);
      }
    }
    return ticks;
  }

  /** User and system ticks of a process, -1 if unknown (gone, or not on this machine). */
  static long processTicks(long pid) {
    try {
      String stat =
          Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
      // the command name, in parentheses, may hold spaces: fields are counted after it
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime: fields 14 and 15
    } catch (IOException | RuntimeException e) {
      return -1;
    }
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
