package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The shape the crash tests share: on a database, workers in child JVMs that send themselves
 * SIGKILL at a point each test marks, then one that resumes and finishes, and the checks of
 * exactly-once every such test makes. A test keeps what is its own: its worker, where the kill
 * lands, and what each record's state must be.
 *
 * <p>Each worker's {@code main} takes {@code jdbcUrl user schema workerId input sinkFile
 * journalFile leaseMillis} and then its own arguments. Closing kills what still runs and drops the
 * PostgreSQL schema.
 */
final class CrashRun implements AutoCloseable {
  /** How long a worker's leases last: a resumed worker takes a dead one's records after that. */
  static final long LEASE_MILLIS = 3_000;

  /** How long a worker may take to die at its mark, or to finish. */
  private static final long DEADLINE_SECONDS = 120;

  final Databases db;
  private final Path dir;
  private final Class<?> main;
  private final String tablePrefix;
  private final List<ChildJvm> workers = new ArrayList<>();

  private CrashRun(Databases db, Path dir, Class<?> main, String tablePrefix) {
    this.db = db;
    this.dir = dir;
    this.main = main;
    this.tablePrefix = tablePrefix;
  }

  /**
   * A crash run of {@code main} on "h2" (a file in {@code dir}) or "postgresql" (a fresh schema),
   * whose store's tables start with {@code tablePrefix}.
   */
  static CrashRun on(String database, Path dir, Class<?> main, String tablePrefix) {
    return on(
        database.equals("h2") ? Databases.h2(dir) : Databases.postgres(), dir, main, tablePrefix);
  }

  static CrashRun on(Databases db, Path dir, Class<?> main, String tablePrefix) {
    return new CrashRun(db, dir, main, tablePrefix);
  }

  /** Starts a worker named {@code name} reading {@code input}, with its own arguments. */
  ChildJvm start(String name, String input, String... own) throws IOException {
    List<String> args = new ArrayList<>();
    args.add(db.url());
    args.add(db.user());
    args.add(db.schema());
    args.add(name);
    args.add(input);
    args.add(dir.resolve(name + ".sink").toString());
    args.add(dir.resolve(name + ".journal").toString());
    args.add(Long.toString(LEASE_MILLIS));
    args.addAll(List.of(own));
    ChildJvm child = ChildJvm.startMain(main, name, dir, args);
    workers.add(child);
    return child;
  }

  /**
   * Starts a worker that is to kill itself, and waits, with a deadline, until it died of SIGKILL
   * (exit 137) having logged {@code marker}: where the test wanted it to die.
   */
  ChildJvm crash(String name, String marker, String input, String... own) throws Exception {
    ChildJvm child = start(name, input, own);
    assertThat(child.awaitExit(TimeUnit.SECONDS.toMillis(DEADLINE_SECONDS)))
        .as("%s ended", child)
        .isTrue();
    assertThat(child.exitValue())
        .as("%s died of SIGKILL: %s", child, child.logText())
        .isEqualTo(137);
    assertThat(child.logText()).as("%s died at its mark", child).contains(marker);
    return child;
  }

  /** Starts the worker that resumes what the killed ones left, and waits until it completed. */
  ChildJvm finish(String input, String... own) throws Exception {
    ChildJvm finisher = start("final", input, own);
    finisher.awaitCompleted(DEADLINE_SECONDS, TimeUnit.SECONDS);
    return finisher;
  }

  /** What every worker's sink got. */
  SinkLines sinks() throws IOException {
    return SinkLines.read(workers);
  }

  /** A store of the run's tables, to read what the workers left; the caller closes it. */
  JdbcPipelineStore verifier() {
    return JdbcPipelineStore.builder()
        .jdbcUrl(db.url(), db.user(), "")
        .schema(db.schema())
        .tablePrefix(tablePrefix)
        .workerId("verifier")
        .build();
  }

  /**
   * The journal lines of a worker ({@link JournalingStore}: a letter, then the record id and what
   * follows), split at spaces.
   */
  static List<String[]> journal(ChildJvm child) throws IOException {
    List<String[]> lines = new ArrayList<>();
    for (String line : Files.readAllLines(child.journal)) {
      lines.add(line.split(" "));
    }
    return lines;
  }

  /**
   * Exactly once: the store holds {@code records} records in all, each in one state, none
   * unfinished, and the sinks got exactly {@code published} ids, a record handed over again only
   * flagged as redelivered.
   */
  static void assertEachOnce(
      JdbcPipelineStore store,
      String pipeline,
      long records,
      Set<String> published,
      SinkLines sunk) {
    StatusCounts counts = store.counts(pipeline);
    long all = 0;
    for (RecordStatus status : RecordStatus.values()) {
      all += counts.get(status);
    }
    assertThat(all).as("records stored, each once").isEqualTo(records);
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(published.size());
    assertThat(store.hasUnfinished(pipeline)).isFalse();
    assertThat(sunk.times.keySet()).as("ids in the sinks").isEqualTo(published);
    assertThat(sunk.unflagged())
        .as("records handed over again without the redelivered flag")
        .isEmpty();
  }

  @Override
  public void close() throws SQLException {
    workers.forEach(ChildJvm::destroy);
    db.dropSchema();
  }
}
