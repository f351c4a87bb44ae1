package dev.pipeline.it;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A child JVM of {@link SpanCrashTest}: reads the lines of a file ({@link Source#lines}, a source
 * the store keeps batches of as spans, not payloads) through two stages into a file sink, against a
 * JDBC store, and, if told to, sends itself SIGKILL right after its k-th ingest was stored.
 *
 * <p>Arguments: jdbcUrl user schema workerId file sinkFile journalFile leaseMillis killAfterIngests
 * (0: never).
 */
public final class SpanCrashWorker {
  static final String NAME = "span-crash";
  static final String SOURCE = "lines";

  private SpanCrashWorker() {}

  public static void main(String[] args) throws Exception {
    String workerId = args[3];
    int killAfter = Integer.parseInt(args[8]);
    int exit;
    try (JournalingStore store =
            CrashWorker.store(
                args, "span_", Path.of(args[6]), Duration.ofMillis(Long.parseLong(args[7])));
        CrashWorker.FileSink sink = new CrashWorker.FileSink(Path.of(args[5]))) {
      AtomicInteger ingests = new AtomicInteger();
      store.afterIngest(
          (stage, ids) -> {
            if (killAfter > 0 && !ids.isEmpty() && ingests.incrementAndGet() == killAfter) {
              CrashWorker.killMyself(workerId, "SIGKILL after an ingest");
            }
          });
      Pipeline<String, String> pipeline =
          Pipeline.builder(NAME, String.class)
              .store(store)
              .stage(StageName.CLEANING, (String s) -> s.strip(), s -> s.batchSize(32))
              .stage(
                  StageName.PUBLISHING,
                  (String line) -> {
                    LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
                    return "P:" + line;
                  },
                  s -> s.concurrency(2).batchSize(32))
              .sink(sink)
              .build();
      RunResult result = pipeline.run(Source.lines(SOURCE, Path.of(args[4])));
      System.out.println(workerId + ": " + result.summary());
      exit = result.status() == RunStatus.COMPLETED ? 0 : 1;
    }
    System.exit(exit);
  }
}
