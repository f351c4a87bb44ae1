package dev.pipeline.bench;

import java.io.PrintStream;
import java.util.List;

/** One performance target: runs its rounds and returns its rows of the results table. */
interface Scenario {

  /** The name given on the command line. */
  String name();

  /**
   * Runs the warm-up and the measured rounds, logging each round to {@code log}.
   *
   * @throws Exception if the code under measurement fails (a crash, not a missed target)
   */
  List<Row> run(Settings settings, PrintStream log) throws Exception;

  /** Collects garbage left by the previous round, outside the timed part. */
  static void settle() {
    System.gc();
  }
}
