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

  /**
   * How many rounds may be repeated because other processes used the machine meanwhile (see {@link
   * CpuMeter#DISTURBED}); after that, disturbed rounds count.
   */
  static int maxRepeats(Settings settings) {
    return 2 * settings.rounds();
  }

  /** "; 2 disturbed rounds repeated", or "". */
  static String repeatedNote(int repeated) {
    return repeated == 0
        ? ""
        : "; " + repeated + " disturbed round" + (repeated == 1 ? "" : "s") + " repeated";
  }

  /** Collects garbage left by the previous round, outside the timed part. */
  static void settle() {
    System.gc();
  }
}
