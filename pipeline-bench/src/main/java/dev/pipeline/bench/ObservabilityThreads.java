package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.bench.ObservabilityPartsScenario.Mode;
import dev.pipeline.examples.app.ScrapedLine;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.store.InMemoryPipelineStore;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where the observability's cost goes, counted per thread rather than timed, so that a loaded
 * machine changes the figures far less than it changes wall time: the equipment example in memory
 * with each part of the observability alone, all three, and none, and for each run the CPU time of
 * every thread of this JVM (from {@code /proc/self/task/<tid>/schedstat}, in nanoseconds) grouped
 * by what the thread is (the carriers that run the engine's virtual threads, JFR's threads, the
 * telemetry writer, GC, the JIT, the rest; threads that ended during the run as "ended", the
 * process's CPU minus the live threads'), and the bytes allocated per line ({@code
 * getTotalThreadAllocatedBytes}). JFR's recording runs only for the modes that sample, started and
 * stopped outside the runs (by a sampling pipeline left open, as a long-lived application has it).
 *
 * <pre>
 * java -cp pipeline-bench/target/benchmarks.jar dev.pipeline.bench.ObservabilityThreads \
 *     [lines] [rounds]
 * </pre>
 */
public final class ObservabilityThreads {
  // the parts scenario's modes but its empty recording, which needs no thread count
  private static final List<Mode> MODES =
      List.of(Mode.OFF, Mode.AUDIT, Mode.HISTORY, Mode.SAMPLING, Mode.ON);

  private ObservabilityThreads() {}

  /** What a thread is, by its name. */
  enum Group {
    CARRIERS,
    JFR,
    WRITER,
    GC,
    JIT,
    ENDED,
    OTHER
  }

  /** Prints each mode's CPU per line by thread group, and its bytes allocated per line. */
  public static void main(String[] args) throws Exception {
    int lines = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    for (Mode mode : MODES) { // warm-up
      run(mode, Math.max(1, lines / 5), threads, os);
    }
    for (int round = 1; round <= rounds; round++) {
      for (Mode mode : MODES) {
        Used used = run(mode, lines, threads, os);
        StringBuilder out = new StringBuilder();
        out.append(
            String.format(
                Locale.ROOT,
                "round %d %-8s %.2f s, %6.2f µs CPU/line, %6.0f B/line |",
                round,
                mode,
                used.nanos / 1e9,
                used.total() / 1e3 / lines,
                (double) used.bytes / lines));
        for (Group g : Group.values()) {
          out.append(
              String.format(
                  Locale.ROOT,
                  " %s %.2f",
                  g.name().toLowerCase(Locale.ROOT),
                  used.cpu.getOrDefault(g, 0L) / 1e3 / lines));
        }
        out.append(
            String.format(
                Locale.ROOT,
                " | jfr %.2f ms/s, writer %.2f ms/s, load %.1f",
                used.cpu.getOrDefault(Group.JFR, 0L) / 1e6 / (used.nanos / 1e9),
                used.cpu.getOrDefault(Group.WRITER, 0L) / 1e6 / (used.nanos / 1e9),
                os.getSystemLoadAverage()));
        out.append(" |");
        used.named.forEach(
            (name, nanos) ->
                out.append(
                    String.format(
                        Locale.ROOT, " %s %.2f ms/s", name, nanos / 1e6 / (used.nanos / 1e9))));
        System.out.println(out);
      }
    }
    System.out.println("threads seen: " + NAMES);
  }

  private static Used run(
      Mode mode,
      int lines,
      com.sun.management.ThreadMXBean threads,
      com.sun.management.OperatingSystemMXBean os)
      throws Exception {
    try (Pipeline<ScrapedLine, IndexedListing> keeper =
        mode.sampling
            ? ObservabilityScenario.pipeline(InMemoryPipelineStore.create(), false, false, true)
            : null) {
      if (keeper != null) {
        Thread.sleep(500); // JFR's start is not what a running recording costs
      }
      try (Pipeline<ScrapedLine, IndexedListing> pipeline =
          ObservabilityScenario.pipeline(
              InMemoryPipelineStore.create(), mode.audit, mode.history, mode.sampling)) {
        Scenario.settle();
        Map<Long, Long> before = perThread();
        long process = os.getProcessCpuTime();
        long bytes = threads.getTotalThreadAllocatedBytes();
        long start = System.nanoTime();
        RunResult result = pipeline.run(DurableWork.source(lines));
        DurableWork.requireComplete(result, lines);
        // the writer drains what the run left before the pipeline closes: wait for it
        Thread.sleep(300);
        long took = System.nanoTime() - start;
        Map<Long, Long> after = perThread();
        long processUsed = os.getProcessCpuTime() - process;
        Used used = new Used(took, threads.getTotalThreadAllocatedBytes() - bytes);
        long live = 0;
        for (Map.Entry<Long, Long> e : after.entrySet()) {
          long delta = e.getValue() - before.getOrDefault(e.getKey(), 0L);
          live += delta;
          Group g = group(e.getKey());
          used.cpu.merge(g, delta, Long::sum);
          if (g == Group.JFR || g == Group.WRITER) {
            used.named.merge(NAMES_BY_ID.get(e.getKey()), delta, Long::sum);
          }
        }
        used.cpu.merge(Group.ENDED, Math.max(0, processUsed - live), Long::sum);
        return used;
      }
    }
  }

  /** Each live thread's CPU time in nanoseconds, by its Linux thread id. */
  private static Map<Long, Long> perThread() throws IOException {
    Map<Long, Long> cpu = new HashMap<>();
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
      for (Path task : tasks) {
        try {
          String stat = Files.readString(task.resolve("schedstat")).trim();
          cpu.put(
              Long.parseLong(task.getFileName().toString()),
              Long.parseLong(stat.substring(0, stat.indexOf(' '))));
        } catch (IOException e) {
          // the thread ended while being read: counted as ended
        }
      }
    }
    return cpu;
  }

  private static final Map<Long, Group> GROUPS = new HashMap<>();
  private static final Map<String, Group> NAMES = new java.util.TreeMap<>();
  private static final Map<Long, String> NAMES_BY_ID = new HashMap<>();

  private static Group group(long tid) {
    return GROUPS.computeIfAbsent(
        tid,
        id -> {
          String name;
          try {
            name = Files.readString(Path.of("/proc/self/task/" + id + "/comm")).trim();
          } catch (IOException e) {
            return Group.ENDED;
          }
          Group found = Group.OTHER;
          for (Map.Entry<String, Group> p : PREFIXES) {
            if (name.startsWith(p.getKey())) {
              found = p.getValue();
              break;
            }
          }
          NAMES.put(name, found);
          NAMES_BY_ID.put(id, name);
          return found;
        });
  }

  private static final List<Map.Entry<String, Group>> PREFIXES =
      List.of(
          Map.entry("ForkJoinPool", Group.CARRIERS),
          Map.entry("JFR", Group.JFR),
          Map.entry("Recording", Group.JFR),
          Map.entry(DurableWork.PIPELINE + "-tel", Group.WRITER),
          Map.entry("GC ", Group.GC),
          Map.entry("G1 ", Group.GC),
          Map.entry("C1 ", Group.JIT),
          Map.entry("C2 ", Group.JIT));

  private static final class Used {
    final long nanos;
    final long bytes;
    final Map<Group, Long> cpu = new EnumMap<>(Group.class);
    final Map<String, Long> named = new java.util.TreeMap<>();

    Used(long nanos, long bytes) {
      this.nanos = nanos;
      this.bytes = bytes;
    }

    long total() {
      return cpu.values().stream().mapToLong(Long::longValue).sum();
    }
  }
}
