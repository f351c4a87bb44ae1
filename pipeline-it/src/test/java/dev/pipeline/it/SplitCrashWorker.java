package dev.pipeline.it;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.store.PayloadCodec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;

/**
 * A child JVM of {@link SplitCrashTest}: runs a pipeline whose middle stage splits archive {@code
 * n} into {@code n % 5} files over archives 0..n-1 against a JDBC store, and, if told to, sends
 * itself SIGKILL right after its k-th store of a split's children, before the parents' SPLIT states
 * are written: the window a crash must lose and duplicate nothing in.
 *
 * <p>Arguments: jdbcUrl user schema workerId archives sinkFile journalFile leaseMillis workMicros
 * killAfterChildIngests (0: never).
 */
public final class SplitCrashWorker {
  static final String NAME = "split-crash";

  private SplitCrashWorker() {}

  /** The files archive {@code "arc-n"} splits into. */
  static List<String> files(String archive) {
    int n = Integer.parseInt(archive.substring(4));
    return IntStream.range(0, n % 5).mapToObj(i -> archive + ":" + i).toList();
  }

  public static void main(String[] args) throws Exception {
    String workerId = args[3];
    int archives = Integer.parseInt(args[4]);
    long workNanos = TimeUnit.MICROSECONDS.toNanos(Long.parseLong(args[8]));
    int killAfter = Integer.parseInt(args[9]);

    int exit;
    try (JournalingStore store =
            CrashWorker.store(
                args, "split_", Path.of(args[6]), Duration.ofMillis(Long.parseLong(args[7])));
        CrashWorker.FileSink sink = new CrashWorker.FileSink(Path.of(args[5]))) {
      AtomicInteger childIngests = new AtomicInteger();
      store.afterIngest(
          (stage, ids) -> {
            if (killAfter > 0
                && stage.equals(StageName.PUBLISHING.value())
                && !ids.isEmpty()
                && childIngests.incrementAndGet() == killAfter) {
              CrashWorker.killMyself(workerId, "SIGKILL after storing a split's children");
            }
          });
      Pipeline<String, String> pipeline =
          Pipeline.builder(NAME, String.class)
              .store(store)
              .stage(StageName.CLEANING, (String s) -> s.strip())
              .splitStage(
                  StageName.EXTRACTION,
                  (String archive, StageContext c) -> files(archive),
                  s -> s.concurrency(2).batchSize(16).codec(PayloadCodec.string()))
              .stage(
                  StageName.PUBLISHING,
                  (String file) -> {
                    LockSupport.parkNanos(workNanos); // a remote call's worth of waiting
                    return "P:" + file;
                  },
                  s -> s.concurrency(4).batchSize(16))
              .sink(sink)
              .build();
      RunResult result =
          pipeline.run(
              Source.of(
                  "split",
                  IntStream.range(0, archives).mapToObj(n -> "arc-" + n).iterator(),
                  archive -> archive));
      System.out.println(workerId + ": " + result.summary());
      exit = result.status() == RunStatus.COMPLETED ? 0 : 1;
    }
    System.exit(exit);
  }
}
