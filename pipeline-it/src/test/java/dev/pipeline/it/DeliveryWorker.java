package dev.pipeline.it;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Sink;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.jdbc.JdbcPipelineStoreBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.IntStream;

/**
 * A child JVM of the delivery tests ({@link PausedWorkerTest}, {@link ResumeTest}): runs a
 * three-stage pipeline over records 0..n-1 on PostgreSQL into a {@link TableSink}, which keeps the
 * highest fencing token per record and refuses lower ones, and journals every write it is asked for
 * in a table all workers share. Prints "READY id" when its store is built and "RESULT ..." with its
 * run's counts when it ends.
 *
 * <p>Arguments: jdbcUrl schema workerId (or "default" for the store's own) records leaseMillis
 * workMicros pauseDir (or "-"). With a pause directory, the worker's first delivery note after
 * {@code records / 4} records were delivered writes the noted ids to {@code noted.txt} there and
 * waits for a file {@code resume} before it goes on to the sink: the parent stops the process
 * (SIGSTOP) in that window, between the note and the sink call.
 */
public final class DeliveryWorker {
  static final String PIPELINE = "delivery";

  private DeliveryWorker() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String schema = args[1];
    String workerId = args[2];
    int records = Integer.parseInt(args[3]);
    Duration lease = Duration.ofMillis(Long.parseLong(args[4]));
    long workNanos = TimeUnit.MICROSECONDS.toNanos(Long.parseLong(args[5]));
    Path pauseDir = args[6].equals("-") ? null : Path.of(args[6]);

    JdbcPipelineStoreBuilder builder =
        JdbcPipelineStore.builder()
            .jdbcUrl(url, "postgres", "")
            .schema(schema)
            .tablePrefix("dlv_")
            .leaseDuration(lease);
    if (!workerId.equals("default")) {
      builder.workerId(workerId);
    }
    try (JdbcPipelineStore jdbc = builder.build();
        JournalingStore store =
            new JournalingStore(jdbc, Files.createTempFile("delivery", ".journal"));
        TableSink sink = new TableSink(url, schema, jdbc.workerId())) {
      if (pauseDir != null) {
        AtomicBoolean paused = new AtomicBoolean();
        store.afterDeliveryNote(
            noted -> {
              if (sink.written() < records / 4
                  || noted.isEmpty()
                  || !paused.compareAndSet(false, true)) {
                return;
              }
              // no other sink write may be open while the parent stops this process: its row
              // locks would block the other worker's writes until this one goes on
              sink.lock.lock();
              try {
                Files.write(pauseDir.resolve("noted.txt"), noted);
                while (!Files.exists(pauseDir.resolve("resume"))) {
                  LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                }
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              } finally {
                sink.lock.unlock();
              }
            });
      }
      Pipeline<String, String> pipeline =
          Pipeline.builder(PIPELINE, String.class)
              .store(store)
              .stage(StageName.of("parse"), (String s) -> "p:" + s, s -> s.batchSize(32))
              .stage(
                  StageName.of("work"),
                  (String s) -> {
                    LockSupport.parkNanos(workNanos);
                    return "w:" + s;
                  },
                  s -> s.concurrency(4).batchSize(32))
              .stage(StageName.of("last"), (String s) -> s + ":l", s -> s.batchSize(32))
              .sink(sink)
              .build();
      Source<String> source =
          Source.of(
              "numbers",
              IntStream.range(0, records).mapToObj(Integer::toString).iterator(),
              payload -> "rec-" + payload);
      System.out.println("READY " + jdbc.workerId());
      System.out.flush();
      RunResult r = pipeline.run(source);
      System.out.println(r.summary());
      System.out.println(
          "RESULT status="
              + r.status()
              + " read="
              + r.read()
              + " published="
              + r.published()
              + " duplicates="
              + r.duplicates()
              + " heldUnfinished="
              + r.heldUnfinished()
              + " resumed="
              + r.resumed()
              + " takenOver="
              + r.takenOver()
              + " unfinished="
              + r.unfinished());
      System.out.flush();
    }
    System.exit(0);
  }

  /**
   * A sink that stores each record with its fencing token and refuses a write whose token is lower
   * than the one stored (a stale worker's), as a user's sink would; every write it is asked for
   * goes to a journal table, in order, with whether it was accepted.
   */
  static final class TableSink implements Sink<String>, AutoCloseable {
    private final Connection connection;
    private final String worker;
    private final String rows;
    private final String journal;

    /** Held by each write; the pause hook holds it too, so no write is open while stopped. */
    final ReentrantLock lock = new ReentrantLock();

    private volatile long written;

    TableSink(String url, String schema, String worker) throws SQLException {
      this.connection = DriverManager.getConnection(url);
      this.worker = worker;
      this.rows = schema + ".sink_rows";
      this.journal = schema + ".sink_journal";
      try (Statement s = connection.createStatement()) {
        s.execute(
            "CREATE TABLE IF NOT EXISTS "
                + rows
                + " (id VARCHAR(100) PRIMARY KEY, token BIGINT NOT NULL, payload TEXT,"
                + " worker VARCHAR(200))");
        s.execute(
            "CREATE TABLE IF NOT EXISTS "
                + journal
                + " (seq BIGSERIAL PRIMARY KEY, id VARCHAR(100) NOT NULL, worker VARCHAR(200),"
                + " token BIGINT NOT NULL, redelivered BOOLEAN NOT NULL, accepted BOOLEAN NOT"
                + " NULL)");
      } catch (SQLException e) {
        if (!"23505".equals(e.getSQLState()) && !"42P07".equals(e.getSQLState())) {
          throw e; // two workers creating the tables at once: one wins
        }
      }
      connection.setAutoCommit(false);
    }

    long written() {
      return written;
    }

    @Override
    public void publish(List<Envelope<String>> records) throws SQLException {
      lock.lock();
      try (PreparedStatement upsert =
              connection.prepareStatement(
                  "INSERT INTO "
                      + rows
                      + " (id, token, payload, worker) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO"
                      + " UPDATE SET token = EXCLUDED.token, payload = EXCLUDED.payload, worker ="
                      + " EXCLUDED.worker WHERE "
                      + rows
                      + ".token <= EXCLUDED.token");
          PreparedStatement note =
              connection.prepareStatement(
                  "INSERT INTO "
                      + journal
                      + " (id, worker, token, redelivered, accepted) VALUES (?, ?, ?, ?, ?)")) {
        for (Envelope<String> r : records) {
          long token = r.fencingToken().orElseThrow();
          upsert.setString(1, r.id());
          upsert.setLong(2, token);
          upsert.setString(3, r.payload());
          upsert.setString(4, worker);
          boolean accepted = upsert.executeUpdate() == 1;
          note.setString(1, r.id());
          note.setString(2, worker);
          note.setLong(3, token);
          note.setBoolean(4, "true".equals(r.metadata().get(Envelope.REDELIVERED)));
          note.setBoolean(5, accepted);
          note.executeUpdate();
        }
        connection.commit();
        written += records.size();
      } catch (SQLException e) {
        connection.rollback();
        throw e;
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void close() throws SQLException {
      connection.close();
    }
  }
}
