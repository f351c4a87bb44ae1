package dev.pipeline.it;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link CrashWorker} in a child JVM with this JVM's class path: its worker id, and the files it
 * writes (sink, journal, log) in a directory of the test.
 */
final class ChildJvm {
  final String workerId;
  final Path sink;
  final Path journal;
  final Path log;
  private final Process process;

  private ChildJvm(String workerId, Path sink, Path journal, Path log, Process process) {
    this.workerId = workerId;
    this.sink = sink;
    this.journal = journal;
    this.log = log;
    this.process = process;
  }

  /**
   * Starts a worker, its store keeping the full ledger if asked. A gated one builds its store,
   * prints READY and waits for {@link #go()}, so that several workers start the run together.
   */
  static ChildJvm start(
      Databases db,
      String workerId,
      Path dir,
      int records,
      long leaseMillis,
      long workMicros,
      int queueCapacity,
      boolean gated,
      boolean fullLedger)
      throws IOException {
    Path sink = dir.resolve(workerId + ".sink.tsv");
    Path journal = dir.resolve(workerId + ".journal");
    Path log = dir.resolve(workerId + ".log");
    List<String> command = javaCommand();
    // the worker's log file keeps its warnings (the test JVM prints errors only)
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    command.add("-D" + CrashWorker.FULL_LEDGER + "=" + fullLedger);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(CrashWorker.class.getName());
    command.add(db.url());
    command.add(db.user());
    command.add(db.schema());
    command.add(workerId);
    command.add(Integer.toString(records));
    command.add(sink.toString());
    command.add(journal.toString());
    command.add(Long.toString(leaseMillis));
    command.add(Long.toString(workMicros));
    command.add(Integer.toString(queueCapacity));
    command.add(Boolean.toString(gated));
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    return new ChildJvm(workerId, sink, journal, log, process);
  }

  /**
   * Starts a child JVM running {@code main} with these arguments, this JVM's class path and its
   * output, INFO lines of the library included, in {@code <name>.log} in the directory; the sink
   * and journal paths are the caller's.
   */
  static ChildJvm startMain(Class<?> main, String name, Path dir, List<String> args)
      throws IOException {
    Path log = dir.resolve(name + ".log");
    List<String> command = javaCommand();
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    // the engine's and the store's INFO lines (take-overs, waits) go to the child's log
    command.add("-Dorg.slf4j.simpleLogger.log.dev.pipeline=info");
    command.add(main.getName());
    command.addAll(args);
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    return new ChildJvm(
        name, dir.resolve(name + ".sink"), dir.resolve(name + ".journal"), log, process);
  }

  /**
   * The java command of a child, before its class path: a child runs seconds, in which C2's
   * compiles cost more CPU than they give back (a worker's 4,000 records on H2 took 7.9 s of CPU
   * with them, 4.8 s with C1 alone), and on a loaded machine CPU is what a child waits for.
   */
  private static List<String> javaCommand() {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    return command;
  }

  /** The child's process id. */
  long pid() {
    return process.pid();
  }

  /** Stops the process (SIGSTOP): it neither runs nor renews its leases until {@link #resume()}. */
  void pause() throws IOException, InterruptedException {
    signal("-STOP");
  }

  /** Lets a {@link #pause() paused} process go on (SIGCONT). */
  void resume() throws IOException, InterruptedException {
    signal("-CONT");
  }

  private void signal(String signal) throws IOException, InterruptedException {
    Process kill =
        new ProcessBuilder("kill", signal, Long.toString(process.pid()))
            .redirectErrorStream(true)
            .start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new AssertionError("kill " + signal + " " + process.pid() + " failed");
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Whether the worker printed READY: its store is built and it waits for {@link #go()}. */
  boolean ready() {
    return logText().contains("READY " + workerId);
  }

  /** Opens the start gate. */
  void go() throws IOException {
    OutputStream in = process.getOutputStream();
    in.write("GO\n".getBytes(StandardCharsets.UTF_8));
    in.flush();
  }

  /** Waits up to {@code millis} for the worker to end by itself; whether it did. */
  boolean awaitExit(long millis) throws InterruptedException {
    return process.waitFor(millis, TimeUnit.MILLISECONDS);
  }

  /** The exit code of a worker that ended. */
  int exitValue() {
    return process.exitValue();
  }

  /** SIGKILL, and waits until the process is gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly(); // SIGKILL on Linux
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new AssertionError(workerId + " did not die within 30 s of SIGKILL");
    }
  }

  /**
   * Waits for the worker to end by itself; fails, with its log, unless it completed its run. A
   * worker that does not end in time is killed, and the failure shows where it was stuck.
   */
  void awaitCompleted(long timeout, TimeUnit unit) throws InterruptedException {
    if (!process.waitFor(timeout, unit)) {
      String stuck = diagnosis();
      process.destroyForcibly();
      throw new AssertionError(
          workerId + " did not finish within " + timeout + " " + unit + "; " + stuck);
    }
    checkCompleted();
  }

  /**
   * Waits for the worker to end by itself for as long as it gets on ({@link #progress()} grows at
   * least once in {@code stallMillis}); fails, with its log, unless it completed its run. A worker
   * that stops getting on is killed, and the failure shows where it was stuck.
   */
  void awaitCompletedWhileProgressing(long stallMillis) throws InterruptedException {
    try {
      Ledger.awaitProgress(
          workerId + " to finish its run", stallMillis, this::progress, () -> !isAlive());
    } catch (AssertionError stalled) {
      String stuck = diagnosis();
      process.destroyForcibly();
      throw new AssertionError(stalled.getMessage() + "; " + stuck, stalled);
    }
    process.waitFor();
    checkCompleted();
  }

  /**
   * The bytes the worker wrote to its sink and its journal so far: they grow while it gets on
   * (ingests, claims, delivers, completes records).
   */
  long progress() {
    return size(sink) + size(journal);
  }

  private static long size(Path file) {
    try {
      return Files.exists(file) ? Files.size(file) : 0;
    } catch (IOException e) {
      return 0; // being created: nothing written yet
    }
  }

  private void checkCompleted() {
    if (process.exitValue() != 0) {
      throw new AssertionError(
          workerId + " exited with " + process.exitValue() + "; its log:\n" + logText());
    }
  }

  /** Kills the worker if it still runs: for clean-up after a failed test. */
  void destroy() {
    process.destroyForcibly();
  }

  /** The worker's threads in the store or the database driver, and its log: why is it stuck? */
  String diagnosis() throws InterruptedException {
    return "its threads in the store or driver:\n" + storeThreads() + "\nits log:\n" + logText();
  }

  /** The stacks of the worker's threads (virtual ones too) that are in pipeline-jdbc or H2. */
  private String storeThreads() throws InterruptedException {
    Path dump = log.resolveSibling(workerId + ".threads.txt");
    try {
      Process jcmd =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                  Long.toString(process.pid()),
                  "Thread.dump_to_file",
                  "-format=text",
                  dump.toString())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!jcmd.waitFor(30, TimeUnit.SECONDS) || !Files.exists(dump)) {
        jcmd.destroyForcibly();
        return "(no thread dump)";
      }
      StringBuilder shown = new StringBuilder();
      for (String thread : Files.readString(dump).split("\n\n")) {
        if (thread.contains("org.h2.") || thread.contains("dev.pipeline.jdbc.")) {
          shown.append(thread).append("\n\n");
        }
      }
      return shown.toString();
    } catch (IOException e) {
      return "(no thread dump: " + e + ")";
    }
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  @Override
  public String toString() {
    return workerId;
  }
}
