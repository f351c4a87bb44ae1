package dev.pipeline.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * The CPU ticks of another JVM's threads, by what the threads do: the JIT compilers, the garbage
 * collector, the VM's own housekeeping, and the rest (the application: the pipeline's carrier
 * threads, the store's pool, main). Read from {@code /proc/<pid>/task} on Linux, by thread name, so
 * that a figure per record can be told apart into a JVM's running costs and its records' work: a
 * JVM that compiles or collects more as more JVMs share the cores shows it here.
 *
 * <p>A thread that ends between two snapshots is lost from its kind; {@link Split#lost} holds what
 * the process used beyond its threads' sum.
 */
final class ThreadCpu {
  private ThreadCpu() {}

  /** What a thread does, from its name as the kernel keeps it (at most 15 characters). */
  enum Kind {
    COMPILER,
    COLLECTOR,
    VM,
    APPLICATION;

    static Kind of(String name) {
      if (name.contains("CompilerThre")) {
        return COMPILER;
      }
      if (name.startsWith("GC Thread")
          || name.startsWith("G1 ")
          || name.startsWith("ZGC")
          || name.startsWith("Shenandoah")) {
        return COLLECTOR;
      }
      if (name.startsWith("VM ")) {
        return VM;
      }
      return APPLICATION;
    }
  }

  /**
   * One look at a process: its ticks, and each thread's with its kind.
   *
   * @param process the process's user and system ticks, -1 if it cannot be read
   */
  record Snapshot(long process, Map<Long, Long> ticks, Map<Long, Kind> kinds) {}

  /**
   * What a process used between two snapshots, in ticks.
   *
   * @param kinds the ticks of each kind of thread
   * @param lost the ticks of threads that ended in between (the process's less its threads')
   */
  record Split(long process, Map<Kind, Long> kinds, long lost) {
    long of(Kind kind) {
      return kinds.getOrDefault(kind, 0L);
    }

    /** This and another process's use, summed. */
    Split plus(Split other) {
      Map<Kind, Long> sum = new EnumMap<>(Kind.class);
      sum.putAll(kinds);
      other.kinds.forEach((kind, ticks) -> sum.merge(kind, ticks, Long::sum));
      return new Split(process + other.process, sum, lost + other.lost);
    }
  }

  static Snapshot of(long pid) {
    Map<Long, Long> ticks = new HashMap<>();
    Map<Long, Kind> kinds = new HashMap<>();
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(tasks)) {
      for (Path task : dir) {
        try {
          String stat = Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII);
          long tid = Long.parseLong(task.getFileName().toString());
          String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
          ticks.put(tid, Long.parseLong(f[11]) + Long.parseLong(f[12]));
          kinds.put(tid, Kind.of(name));
        } catch (IOException | RuntimeException e) {
          // the thread ended while the directory was read
        }
      }
    } catch (IOException e) {
      // the process has ended, or this is not Linux
    }
    return new Snapshot(CpuMeter.processTicks(pid), ticks, kinds);
  }

  /** What the process used from {@code before} to {@code after}, by kind of thread. */
  static Split between(Snapshot before, Snapshot after) {
    Map<Kind, Long> kinds = new EnumMap<>(Kind.class);
    long threads = 0;
    for (Map.Entry<Long, Long> t : after.ticks().entrySet()) {
      long used = t.getValue() - before.ticks().getOrDefault(t.getKey(), 0L);
      kinds.merge(after.kinds().get(t.getKey()), used, Long::sum);
      threads += used;
    }
    long process = after.process() - before.process();
    return new Split(process, kinds, Math.max(0, process - threads));
  }
}
