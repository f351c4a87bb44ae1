package dev.pipeline.it;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Sink;
import dev.pipeline.Source;
import dev.pipeline.jdbc.JdbcPipelineStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.IntStream;

/**
 * A child JVM of the crash tests: runs {@link CrashPipeline} over records 0..n-1 against a JDBC
 * store until done (exit 0), unless the parent kills it first. The store is wrapped in a {@link
 * JournalingStore}, so the parent can tell what this worker leased and completed.
 *
 * <p>Arguments: jdbcUrl user schema workerId records sinkFile journalFile leaseMillis workMicros
 * queueCapacity gated. It prints "READY workerId" once its store is built; a gated worker then
 * waits for a "GO" line on its standard input before it runs.
 */
public final class CrashWorker {
  /** The system property that gives the worker's store the full ledger when true. */
  static final String FULL_LEDGER = "pipeline.it.fullLedger";

  private CrashWorker() {}

  public static void main(String[] args) throws Exception {
    String workerId = args[3];
    int records = Integer.parseInt(args[4]);
    Path sinkFile = Path.of(args[5]);
    Path journalFile = Path.of(args[6]);
    Duration lease = Duration.ofMillis(Long.parseLong(args[7]));
    long workNanos = Long.parseLong(args[8]) * 1_000;
    int queueCapacity = Integer.parseInt(args[9]);
    boolean gated = Boolean.parseBoolean(args[10]);

    int exit;
    try (JournalingStore store = store(args, "crash_", journalFile, lease);
        FileSink sink = new FileSink(sinkFile)) {
      Pipeline<String, String> pipeline =
          CrashPipeline.build(store, sink, workNanos, queueCapacity);
      Source<String> source =
          Source.of(
              "crash",
              IntStream.range(0, records).mapToObj(Integer::toString).iterator(),
              payload -> CrashPipeline.id(Integer.parseInt(payload)));
      System.out.println("READY " + workerId);
      System.out.flush();
      if (gated) {
        BufferedReader in =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line = in.readLine();
        if (!"GO".equals(line)) {
          System.out.println("no GO from the parent (" + line + "); exiting");
          System.exit(3);
        }
      }
      RunResult result = pipeline.run(source);
      System.out.println(workerId + ": " + result.summary());
      exit = result.status() == RunStatus.COMPLETED ? 0 : 1;
    }
    System.exit(exit);
  }

  /** SIGKILL to this very process, after saying why: no shutdown hook, no finally, no write. */
  static void killMyself(String workerId, String why) {
    System.out.println(workerId + ": " + why);
    System.out.flush();
    try {
      new ProcessBuilder("kill", "-KILL", Long.toString(ProcessHandle.current().pid()))
          .start()
          .waitFor();
    } catch (Exception e) {
      Runtime.getRuntime().halt(137);
    }
    while (true) {
      LockSupport.park(); // the signal lands before this returns
    }
  }

  /**
   * A child's journaling store on the database the arguments name (jdbcUrl user schema workerId
   * first), its tables under the prefix.
   */
  static JournalingStore store(String[] args, String prefix, Path journal, Duration lease)
      throws IOException {
    return new JournalingStore(
        JdbcPipelineStore.builder()
            .jdbcUrl(args[0], args[1], "")
            .schema(args[2])
            .tablePrefix(prefix)
            .workerId(args[3])
            .leaseDuration(lease)
            .fullLedger(Boolean.getBoolean(FULL_LEDGER))
            .build(),
        journal);
  }

  /**
   * Appends "id TAB payload TAB redelivered" lines, one write per batch; a SIGKILL loses nothing
   * that was written, since the bytes are in the kernel's page cache.
   */
  static final class FileSink implements Sink<String>, AutoCloseable {
    private final FileChannel channel;
    private final ReentrantLock lock = new ReentrantLock();

    FileSink(Path file) throws IOException {
      this.channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    @Override
    public void publish(List<Envelope<String>> records) throws IOException {
      StringBuilder lines = new StringBuilder();
      for (Envelope<String> r : records) {
        lines
            .append(r.id())
            .append('\t')
            .append(r.payload())
            .append('\t')
            .append(r.metadata().getOrDefault(Envelope.REDELIVERED, "false"))
            .append('\n');
      }
      ByteBuffer bytes = ByteBuffer.wrap(lines.toString().getBytes(StandardCharsets.UTF_8));
      lock.lock();
      try {
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
