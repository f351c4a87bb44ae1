package dev.pipeline.it;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Sink;
import dev.pipeline.Source;
import dev.pipeline.jdbc.JdbcPipelineStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.IntStream;

/**
 * A child JVM of the crash tests: runs {@link CrashPipeline} over records 0..n-1 against a JDBC
 * store until done (exit 0), unless the parent kills it first.
 *
 * <p>Arguments: jdbcUrl user schema records sinkFile leaseMillis workMicros.
 */
public final class CrashWorker {

  private CrashWorker() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    String schema = args[2];
    int records = Integer.parseInt(args[3]);
    Path sinkFile = Path.of(args[4]);
    Duration lease = Duration.ofMillis(Long.parseLong(args[5]));
    long workNanos = Long.parseLong(args[6]) * 1_000;

    try (JdbcPipelineStore store =
            JdbcPipelineStore.builder()
                .jdbcUrl(url, user, "")
                .schema(schema)
                .tablePrefix("crash_")
                .leaseDuration(lease)
                .build();
        FileSink sink = new FileSink(sinkFile)) {
      Pipeline<String, String> pipeline = CrashPipeline.build(store, sink, workNanos);
      Source<String> source =
          Source.of(
              "crash",
              IntStream.range(0, records).mapToObj(Integer::toString).iterator(),
              payload -> CrashPipeline.id(Integer.parseInt(payload)));
      RunResult result = pipeline.run(source);
      System.out.println(result.summary());
      System.exit(result.status() == RunStatus.COMPLETED ? 0 : 1);
    }
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
