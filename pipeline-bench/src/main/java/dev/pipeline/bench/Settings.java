package dev.pipeline.bench;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Sizes and repetitions of a run of the targets.
 *
 * @param rounds measured rounds per figure (baseline and pipeline interleaved, one of each per
 *     round)
 * @param warmups unmeasured rounds first, so that the JIT has compiled the hot paths
 * @param overheadRecords records of the overhead target
 * @param realWorkRecords records of the real-work target
 * @param realWorkConcurrency workers per stage in the real-work pipeline
 * @param realWorkBatch batch size of each stage in the real-work pipeline
 * @param realWorkQueue records each queue of the real-work pipeline holds, 0 for the default
 * @param ioRecords records of the IO target at its concurrency of 20
 * @param ioSweep concurrencies to sweep, ascending
 * @param ioSweepSeconds how long each sweep run should take at the bound: records are scaled to it
 * @param memoryRecords records pushed through the child JVM of the memory target
 * @param memoryRounds child JVMs run for the memory target
 * @param durableLines lines of the durable and durable-workers targets
 * @param scalingLines lines of the larger run of the durable-scaling target (the smaller has a
 *     tenth)
 * @param databases the databases the durable targets run on
 * @param repeatDisturbed whether rounds disturbed by other processes are left out and run again
 */
record Settings(
    int rounds,
    int warmups,
    int overheadRecords,
    int realWorkRecords,
    int realWorkConcurrency,
    int realWorkBatch,
    int realWorkQueue,
    int ioRecords,
    List<Integer> ioSweep,
    double ioSweepSeconds,
    long memoryRecords,
    int memoryRounds,
    int durableLines,
    int scalingLines,
    Set<BenchDatabase.Kind> databases,
    boolean repeatDisturbed) {

  Settings {
    ioSweep = List.copyOf(ioSweep);
    databases = Set.copyOf(databases);
  }

  /** Collects settings, starting from the sizes the targets are stated for. Not thread-safe. */
  static final class Builder {
    int rounds = 5;
    int warmups = 2;
    int overheadRecords = 1_000_000;
    int realWorkRecords = 1_000_000;
    // short queues keep few records in flight, so a record is still in cache when the next
    // stage takes it (about 10% less CPU per record than the default queues of 1,024)
    int realWorkConcurrency = 2;
    int realWorkBatch = 128;
    int realWorkQueue = 128;
    int ioRecords = 50_000;
    List<Integer> ioSweep = List.of(20, 50, 100, 200, 500, 1000, 2000);
    double ioSweepSeconds = 3.0;
    long memoryRecords = 10_000_000;
    int memoryRounds = 3;
    int durableLines = 200_000;
    int scalingLines = 1_000_000;
    Set<BenchDatabase.Kind> databases = EnumSet.allOf(BenchDatabase.Kind.class);
    boolean repeatDisturbed = true;

    /** A few records of each, to prove the code works; the figures mean nothing. */
    Builder smoke() {
      rounds = 1;
      warmups = 0;
      overheadRecords = 20_000;
      realWorkRecords = 3_000;
      ioRecords = 400;
      ioSweep = List.of(20, 50);
      ioSweepSeconds = 0.05;
      memoryRecords = 30_000;
      memoryRounds = 1;
      durableLines = 600;
      scalingLines = 3_000;
      repeatDisturbed = false;
      return this;
    }

    Settings build() {
      return new Settings(
          rounds,
          warmups,
          overheadRecords,
          realWorkRecords,
          realWorkConcurrency,
          realWorkBatch,
          realWorkQueue,
          ioRecords,
          ioSweep,
          ioSweepSeconds,
          memoryRecords,
          memoryRounds,
          durableLines,
          scalingLines,
          databases,
          repeatDisturbed);
    }
  }
}
