package dev.pipeline.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pipeline.Pipeline;
import dev.pipeline.PipelineRun;
import dev.pipeline.Progress;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.examples.app.ScrapedLine;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.jdbc.JdbcPipelineStore;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * A worker JVM of {@link DurableWorkersScenario}: builds the example's pipeline on a PostgreSQL
 * schema shared with the other workers, publishing into a {@link RollingIndex} (a single in-memory
 * index holds every listing the JVM published: its live set, and so its collector's work per line,
 * grew with the lines each JVM ran, which made a JVM that ran all the lines cost more per line than
 * three that ran a third each, whatever the store did), runs {@value #WARM_UP_LINES} lines durably
 * on a scratch schema of its own, through the same pool and the same kind of source as its measured
 * run (so that its figures are a warm worker's), generates its part of the input (the lines whose
 * number is its shard modulo the workers, as a partitioned input would be split), prints {@value
 * #READY}, waits for a line on standard input, runs its part (any worker claims the records of
 * another whose lease expired) printing the records it has done after {@value #PROGRESS} every
 * {@link #PROGRESS_PERIOD}, prints its outcome and its round trips to the database (statements and
 * commits, counted by {@link CountingDataSource}), of which those that coordinate it with the other
 * workers (see {@link #coordinates}) with their wall time and its statements (round trips less
 * commits), after {@value #DONE}, and waits for another line (or the end of its input) before it
 * closes the store and exits.
 *
 * <p>Arguments: JDBC URL, schema, lines, worker id, shard, shards.
 */
final class DurableWorker {
  static final String READY = "WORKER-READY";
  static final String DONE = "WORKER-DONE";

  /**
   * Starts a line giving the lines of its part this worker has done so far (records ended and
   * duplicates rejected), printed during its run.
   */
  static final String PROGRESS = "WORKER-PROGRESS";

  /** How often a worker prints its {@link #PROGRESS}. */
  static final Duration PROGRESS_PERIOD = Duration.ofMillis(200);

  /**
   * A system property: when true, each worker prints its round trips by statement to standard error
   * after its run.
   */
  static final String BREAKDOWN = "bench.workers.breakdown";

  /**
   * Sets the lines each worker runs durably on a scratch schema before it says it is ready (by
   * default its part's, at most {@value #WARM_UP_LINES}): a longer warm-up leaves less compiling to
   * the measured run, which matters most when several JVMs compile at once.
   */
  static final String WARM_UP = "bench.workers.warmup";

  static final int WARM_UP_LINES = 20_000;

  private DurableWorker() {}

  /**
   * Runs the pipeline durably over lines on a scratch schema, which is dropped after, through the
   * measured run's own data source (its pool, counted) with its worker id and the same kind of
   * source (a {@link DurableWork#part}, which cannot seek, so its batches are kept with their
   * payloads). A warm-up over the seekable {@link DurableWork#source(int)} on a store with a pool
   * of its own kept its batches as source spans: the payload writes, the external pool and the
   * counting proxies were first compiled during the measured run, and the compilers were still at
   * them (C2 compiling {@code BulkAppend.bindRows}, {@code BatchWrites.write}, {@code
   * Ingests.ingestBatches}) 200,000 lines into it.
   */
  private static void warmUp(DataSource dataSource, String schema, String workerId, int lines)
      throws Exception {
    try (JdbcPipelineStore store =
            JdbcPipelineStore.builder()
                .dataSource(dataSource)
                .schema(schema)
                .workerId(workerId)
                .build();
        Pipeline<ScrapedLine, IndexedListing> pipeline = DurableWork.rollingPipeline(store)) {
      RunResult result = pipeline.run(DurableWork.source(DurableWork.part(lines, 0, 1)));
      if (result.status() != RunStatus.COMPLETED) {
        throw new IllegalStateException("the warm-up run failed: " + result.summary());
      }
    } finally {
      try (Connection c = DriverManager.getConnection(BenchDatabase.PG_URL);
          Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      }
    }
  }

  /**
   * Whether a statement (its short name, see {@link CountingDataSource#shorten}) is a worker's
   * coordination with the others rather than its records' work: a claim (of batches, rows or due
   * retries), a lease's renewal or release, a look at the leases others hold, the poll for work
   * left. Fencing adds no statement: it is a condition of every write.
   */
  static boolean coordinates(String statement) {
    return (statement.startsWith("UPDATE") && statement.contains("SET lease_"))
        || statement.contains("SET status = 'READY', lease_owner = NULL")
        || statement.startsWith("WITH due AS")
        || statement.contains("SET status = 'IN_PROGRESS', lease_owner = ?")
        || statement.startsWith("SELECT lease_owner")
        || statement.startsWith("SELECT CASE WHEN EXISTS");
  }

  /**
   * The kinds of a worker's {@link #coordinates coordination} statements, told apart by their short
   * names, so that a claim's cost is not read as a heartbeat's.
   */
  enum Coordination {
    /** Takes batches or rows whose lease expired, or retries that came due. */
    CLAIM,
    /** Extends the leases this worker holds (its heartbeat, a doubted lease's renewal). */
    RENEWAL,
    /** Gives leases back. */
    RELEASE,
    /** Asks whether any record is unfinished, or whose leases hold them. */
    POLL;

    static Coordination of(String statement) {
      if (statement.startsWith("WITH due AS")
          || statement.contains("SET lease_owner = ?")
          || statement.contains("SET status = 'IN_PROGRESS', lease_owner = ?")) {
        return CLAIM;
      }
      if (statement.contains("SET lease_expires_at")) {
        return RENEWAL;
      }
      if (statement.startsWith("SELECT")) {
        return POLL;
      }
      return RELEASE;
    }

    /** The round trips of each kind, as counted by {@code counter}. */
    static long[] count(CountingDataSource counter) {
      long[] counts = new long[values().length];
      for (Coordination kind : values()) {
        counts[kind.ordinal()] = counter.tripsOf(name -> coordinates(name) && of(name) == kind)[0];
      }
      return counts;
    }

    /** "claims 0.0012, renewals …" per line. */
    static String perLine(long[] counts, long lines) {
      StringBuilder text = new StringBuilder();
      for (Coordination kind : values()) {
        text.append(text.isEmpty() ? "" : ", ")
            .append(kind.name().toLowerCase(Locale.ROOT))
            .append(String.format(Locale.ROOT, " %.5f", counts[kind.ordinal()] / (double) lines));
      }
      return text.toString();
    }
  }

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String schema = args[1];
    int lines = Integer.parseInt(args[2]);
    String workerId = args[3];
    int shard = Integer.parseInt(args[4]);
    int shards = Integer.parseInt(args[5]);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(11);
    config.setPoolName("bench-worker");
    // no session settings, as the store's own pools (see JdbcPipelineStoreBuilder.dataSource)
    CountingDataSource counter = new CountingDataSource();
    try (HikariDataSource pool = new HikariDataSource(config)) {
      DataSource counted = counter.wrap(pool);
      // the stages, the engine, the store and the driver compiled before the measured run, as in a
      // worker that has been running a while: a durable run on a scratch schema of its own, down
      // the measured run's code paths. Without it each extra worker JVM added its own warm-up to
      // the figures (warmed in memory only, the store and the driver were still compiled during the
      // measured run)
      warmUp(
          counted,
          schema + "warm" + shard,
          workerId,
          Integer.getInteger(WARM_UP, Math.min(lines, WARM_UP_LINES)));
      work(counted, counter, schema, lines, workerId, shard, shards);
    }
  }

  private static void work(
      DataSource counted,
      CountingDataSource counter,
      String schema,
      int lines,
      String workerId,
      int shard,
      int shards)
      throws Exception {
    try (JdbcPipelineStore store =
            JdbcPipelineStore.builder()
                .dataSource(counted)
                .schema(schema)
                .workerId(workerId)
                .migrateSchema(false)
                .build();
        Pipeline<ScrapedLine, IndexedListing> pipeline = DurableWork.rollingPipeline(store)) {
      // its part of the input, as a partitioned input would hand it over: generating every line
      // and keeping a share, during the run, made each extra worker generate the whole input again
      List<Map.Entry<Long, String>> part = DurableWork.part(lines, shard, shards);
      System.out.println(READY);
      System.out.flush();
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      if (in.readLine() == null) {
        return; // the parent gave up
      }
      long tripsBefore = counter.roundTrips();
      counter.resetBreakdown();
      // its progress as it goes, so that the parent can measure a window in which every worker is
      // busy apart from the run's start and its tail (see Steady)
      PipelineRun running = pipeline.start(DurableWork.source(part));
      Optional<RunResult> ended;
      while ((ended = running.await(PROGRESS_PERIOD)).isEmpty()) {
        // the lines of its part dealt with: duplicates are lines too, so that a part done counts
        // as many as it has lines
        Progress progress = running.progress();
        System.out.println(PROGRESS + " " + (progress.done() + progress.duplicates()));
        System.out.flush();
      }
      RunResult result = ended.get();
      long trips = counter.roundTrips() - tripsBefore;
      long[] coordination = counter.tripsOf(DurableWorker::coordinates);
      long statements =
          counter.tripsOf(name -> !name.equals("commit") && !name.equals("rollback"))[0];
      if (Boolean.getBoolean(BREAKDOWN)) {
        for (String kind : counter.breakdown()) {
          System.err.println(workerId + " " + kind);
        }
      }
      if (result.status() != RunStatus.COMPLETED || result.unfinished() != 0) {
        System.err.println(result.summary());
        System.exit(1);
      }
      System.out.println(
          DONE
              + " "
              + result.published()
              + " "
              + result.filtered()
              + " "
              + result.deadLettered()
              + " "
              + result.duplicates()
              + " "
              + result.resumed()
              + " "
              + trips
              + " "
              + coordination[0]
              + " "
              + coordination[1]
              + " "
              + statements
              + " "
              + Arrays.stream(Coordination.count(counter))
                  .mapToObj(Long::toString)
                  .collect(Collectors.joining(" ")));
      System.out.flush();
      in.readLine(); // until the parent has read this JVM's CPU time
    }
  }
}
