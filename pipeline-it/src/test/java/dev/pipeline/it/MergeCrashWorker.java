package dev.pipeline.it;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.RecordFilteredException;
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
 * A child JVM of {@link MergeCrashTest}: splits archive {@code n} into {@code n % 5} files, reads
 * each (filtering some: absent parts), and merges each archive's files again, against a JDBC store;
 * if told to, sends itself SIGKILL inside the merge window: right after its k-th merge call that
 * found a group complete (parts committed, merged record not stored), or right after its k-th store
 * of merged records (children not ended yet).
 *
 * <p>Arguments: jdbcUrl user schema workerId archives sinkFile journalFile leaseMillis workMicros
 * killMode (none, parts, merged) killAfter [nested]. With {@code nested}, archive {@code n} splits
 * into folders, each folder into files, and two merge stages join a folder's files, then the
 * archive's folders (split, split, merge, merge).
 */
public final class MergeCrashWorker {
  static final String NAME = "merge-crash";
  static final StageName READING = StageName.of("reading");
  static final StageName MERGE = StageName.of("merge");
  static final StageName FOLDERS = StageName.of("folders");
  static final StageName FOLDER = StageName.of("folder");

  private MergeCrashWorker() {}

  /** The files archive {@code "arc-n"} splits into. */
  static List<String> files(String archive) {
    int n = Integer.parseInt(archive.substring(4));
    return IntStream.range(0, n % 5).mapToObj(i -> archive + ":" + i).toList();
  }

  /** Whether reading filters a file: about one in seven, so some groups complete on an absence. */
  static boolean filtered(String file) {
    return Math.floorMod(file.hashCode(), 7) == 0;
  }

  /** What an archive merges into: its read files that were not filtered, joined, or null. */
  static String merged(String archive) {
    List<String> read =
        files(archive).stream().filter(f -> !filtered(f)).map(f -> "R:" + f).toList();
    return read.isEmpty() ? null : String.join("+", read);
  }

  /** The folders archive {@code "arc-n"} splits into when nested: {@code n % 3} of them. */
  static List<String> folders(String archive) {
    int n = Integer.parseInt(archive.substring(4));
    return IntStream.range(0, n % 3).mapToObj(i -> archive + ":" + i).toList();
  }

  /** The files a folder splits into when nested: zero to three. */
  static List<String> folderFiles(String folder) {
    return IntStream.range(0, Math.floorMod(folder.hashCode(), 4))
        .mapToObj(i -> folder + "." + i)
        .toList();
  }

  /** What a folder merges into: its read files that were not filtered, joined, or null. */
  static String folderMerged(String folder) {
    List<String> read =
        folderFiles(folder).stream().filter(f -> !filtered(f)).map(f -> "R:" + f).toList();
    return read.isEmpty() ? null : String.join("+", read);
  }

  /** What an archive merges into when nested: its folders' merged records, joined, or null. */
  static String nestedMerged(String archive) {
    List<String> merged =
        folders(archive).stream()
            .map(MergeCrashWorker::folderMerged)
            .filter(m -> m != null)
            .toList();
    return merged.isEmpty() ? null : String.join("|", merged);
  }

  public static void main(String[] args) throws Exception {
    String workerId = args[3];
    int archives = Integer.parseInt(args[4]);
    long workNanos = TimeUnit.MICROSECONDS.toNanos(Long.parseLong(args[8]));
    String mode = args[9];
    int killAfter = Integer.parseInt(args[10]);

    int exit;
    try (JournalingStore store =
            CrashWorker.store(
                args, "merge_", Path.of(args[6]), Duration.ofMillis(Long.parseLong(args[7])));
        CrashWorker.FileSink sink = new CrashWorker.FileSink(Path.of(args[5]))) {
      AtomicInteger seen = new AtomicInteger();
      store.afterMerge(
          outcome -> {
            if (mode.equals("parts")
                && !outcome.complete().isEmpty()
                && seen.incrementAndGet() == killAfter) {
              CrashWorker.killMyself(workerId, "SIGKILL in the merge window: groups complete");
            }
          });
      store.afterIngest(
          (stage, ids) -> {
            if (mode.equals("merged")
                && stage.equals("sink")
                && !ids.isEmpty()
                && seen.incrementAndGet() == killAfter) {
              CrashWorker.killMyself(workerId, "SIGKILL in the merge window: merged stored");
            }
          });
      PayloadCodec<String> text = PayloadCodec.string();
      boolean nested = args.length > 11 && args[11].equals("nested");
      PipelineBuilder<String, String> builder = Pipeline.builder(NAME, String.class).store(store);
      if (nested) {
        builder =
            builder
                .splitStage(
                    FOLDERS,
                    (String archive, StageContext c) -> folders(archive),
                    s -> s.concurrency(2).batchSize(16).codec(text))
                .splitStage(
                    StageName.EXTRACTION,
                    (String folder, StageContext c) -> folderFiles(folder),
                    s -> s.concurrency(2).batchSize(16).codec(text));
      } else {
        builder =
            builder.splitStage(
                StageName.EXTRACTION,
                (String archive, StageContext c) -> files(archive),
                s -> s.concurrency(2).batchSize(16).codec(text));
      }
      builder =
          builder
              .stage(
                  READING,
                  (String file) -> {
                    LockSupport.parkNanos(workNanos); // a remote call's worth of waiting
                    if (filtered(file)) {
                      throw RecordFilteredException.because("not a listing");
                    }
                    return "R:" + file;
                  },
                  s -> s.concurrency(4).batchSize(8).codec(text))
              .mergeStage(
                  nested ? FOLDER : MERGE,
                  (List<String> parts, StageContext c) -> String.join("+", parts),
                  s -> s.concurrency(2).batchSize(8).codec(text));
      if (nested) {
        builder =
            builder.mergeStage(
                MERGE,
                (List<String> parts, StageContext c) -> String.join("|", parts),
                s -> s.concurrency(2).batchSize(8).codec(text));
      }
      Pipeline<String, String> pipeline = builder.sink(sink).build();
      RunResult result =
          pipeline.run(
              Source.of(
                  "merge",
                  IntStream.range(0, archives).mapToObj(n -> "arc-" + n).iterator(),
                  archive -> archive));
      System.out.println(workerId + ": " + result.summary());
      exit = result.status() == RunStatus.COMPLETED ? 0 : 1;
    }
    System.exit(exit);
  }
}
