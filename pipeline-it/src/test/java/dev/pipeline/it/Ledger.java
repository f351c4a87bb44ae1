package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Reads what the children left (sink files, the store) and checks the crash guarantees. */
final class Ledger {
  private Ledger() {}

  /** Lines the sinks received so far (a last, partly written line is ignored). */
  static long sinkLines(List<Path> sinks) throws IOException {
    long lines = 0;
    for (Path sink : sinks) {
      if (Files.exists(sink)) {
        byte[] bytes = Files.readAllBytes(sink);
        for (byte b : bytes) {
          if (b == '\n') {
            lines++;
          }
        }
      }
    }
    return lines;
  }

  /** Polls a condition every 20 ms until it holds or the deadline passes. */
  static void await(String what, long timeoutMillis, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeoutMillis + "ms waiting for " + what);
      }
      LockSupport.parkNanos(20_000_000);
    }
  }

  /**
   * Checks: every record is in the terminal state its number calls for (none lost, none
   * unexpected), the sinks received each published record's final output, never a record that was
   * not to be published, and never more often than the store's delivery ledger says.
   */
  static void verify(Databases db, int records, List<Path> sinks) throws IOException {
    Map<String, Integer> received = new HashMap<>();
    List<String> unexpected = new ArrayList<>();
    for (Path sink : sinks) {
      if (!Files.exists(sink)) {
        continue;
      }
      for (String line : Files.readAllLines(sink, StandardCharsets.UTF_8)) {
        String[] f = line.split("\t", -1);
        if (f.length != 3) {
          unexpected.add(line);
          continue;
        }
        int n = CrashPipeline.numberOf(f[0]);
        if (n < 0
            || n >= records
            || CrashPipeline.expectedStatus(n) != RecordStatus.PUBLISHED
            || !CrashPipeline.expectedOutput(n).equals(f[1])) {
          unexpected.add(line);
        }
        received.merge(f[0], 1, Integer::sum);
      }
    }
    List<String> lost = new ArrayList<>();
    List<String> wrongState = new ArrayList<>();
    List<String> overDelivered = new ArrayList<>();
    long redelivered = 0;
    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .jdbcUrl(db.url(), db.user(), "")
            .schema(db.schema())
            .tablePrefix("crash_")
            .build()) {
      for (int n = 0; n < records; n++) {
        String id = CrashPipeline.id(n);
        RecordStatus expected = CrashPipeline.expectedStatus(n);
        Optional<RecordState> state = store.find(CrashPipeline.NAME, id);
        if (state.isEmpty() || state.get().status() != expected) {
          wrongState.add(
              id + ": " + state.map(RecordState::status).orElse(null) + ", expected " + expected);
        }
        int times = received.getOrDefault(id, 0);
        if (expected == RecordStatus.PUBLISHED) {
          if (times == 0) {
            lost.add(id);
          }
          int deliveries = state.map(RecordState::deliveries).orElse(0);
          if (times > deliveries) {
            overDelivered.add(id + ": sink got it " + times + "x, ledger says " + deliveries);
          }
          if (times > 1) {
            redelivered++;
          }
        }
      }
    }
    System.out.printf(
        "%s: %d records, %d sink lines, %d re-delivered (visible in the ledger)%n",
        db.name(), records, sinkLines(sinks), redelivered);
    assertThat(lost).as("published records the sink never received").isEmpty();
    assertThat(unexpected).as("sink lines for records that were not to be published").isEmpty();
    assertThat(wrongState).as("records not in the terminal state they must end in").isEmpty();
    assertThat(overDelivered).as("deliveries the store's ledger did not record").isEmpty();
  }
}
