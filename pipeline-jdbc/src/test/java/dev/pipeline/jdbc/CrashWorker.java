package dev.pipeline.jdbc;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.store.PayloadCodec;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.IntStream;

/**
 * A child JVM for {@link CrashRecoveryTest}: runs the "crash" pipeline over N records against a
 * store, appending each id the sink receives to a file (an at-least-once sink), and exits 0 when
 * the run completes. The test kills it with SIGKILL at random points.
 *
 * <p>Arguments: JDBC URL, schema, N, sink file.
 */
final class CrashWorker {
  private CrashWorker() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String schema = args[1];
    int n = Integer.parseInt(args[2]);
    Path sinkFile = Path.of(args[3]);
    ReentrantLock lock = new ReentrantLock();
    try (JdbcPipelineStore store =
            JdbcPipelineStore.builder()
                .jdbcUrl(url, null, null)
                .schema(schema)
                .leaseDuration(Duration.ofSeconds(1))
                .build();
        Writer out =
            Files.newBufferedWriter(
                sinkFile,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
      Pipeline<String, String> pipeline =
          Pipeline.builder("crash", String.class)
              .store(store)
              .stage(
                  StageName.INGESTION,
                  (String s) -> s.toUpperCase(Locale.ROOT),
                  o -> o.checkpoint().codec(PayloadCodec.string()).batchSize(20))
              .stage(
                  StageName.CLEANING,
                  (String s) -> {
                    TimeUnit.MILLISECONDS.sleep(1);
                    return s.toLowerCase(Locale.ROOT);
                  },
                  o -> o.concurrency(8).batchSize(20).checkpoint().codec(PayloadCodec.string()))
              .stage(StageName.PUBLISHING, (String s) -> s, o -> o.batchSize(20))
              .sink(
                  batch -> {
                    lock.lock();
                    try {
                      for (Envelope<String> e : batch) {
                        if (!e.payload().equals(e.id())) {
                          throw new IllegalStateException("wrong payload for " + e.id());
                        }
                        out.write(e.id() + "\n");
                      }
                      out.flush(); // in the OS before the completion is written
                    } finally {
                      lock.unlock();
                    }
                  })
              .build();
      List<String> inputs = IntStream.range(0, n).mapToObj(i -> "item-" + i).toList();
      System.out.println("STARTED " + store.workerId());
      RunResult result = pipeline.run(Source.of("src", inputs.iterator(), s -> s));
      System.out.println("RESULT " + result.summary());
      if (result.status() != RunStatus.COMPLETED) {
        System.exit(2);
      }
    }
    System.exit(0);
  }
}
