package dev.pipeline.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Runs the durable scenarios with a few hundred records, on H2 and, if it answers, PostgreSQL, with
 * their Spring Batch baselines (without PostgreSQL its rows are left out and durable-io runs on H2,
 * unless PIPELINE_REQUIRE_POSTGRES=true, which makes the run fail). No figure is asserted.
 */
class DurableScenariosTest {

  @Test
  void durableScenariosRunOnEveryDatabaseAndCheckTheirRecords() {
    ByteArrayOutputStream table = new ByteArrayOutputStream();
    ByteArrayOutputStream log = new ByteArrayOutputStream();

    int exit =
        Targets.run(
            new String[] {
              "durable",
              "durable-io",
              "durable-scaling",
              "durable-workers",
              "durable-stores",
              "--smoke",
              "--in-process"
            },
            new PrintStream(table, true, StandardCharsets.UTF_8),
            new PrintStream(log, true, StandardCharsets.UTF_8));

    String out = table.toString(StandardCharsets.UTF_8);
    String messages = log.toString(StandardCharsets.UTF_8);
    assertThat(exit).as(messages).isZero();
    assertThat(messages).contains("592 unique records").doesNotContain("did not complete");
    assertThat(out)
        .contains("600 lines (592 unique ids), batch 128, H2 vs in memory |")
        .contains("600 lines (592 unique ids), batch 128, H2 vs raw JDBC on H2 |")
        .contains("600 lines (592 unique ids), batch 128, H2 vs bare raw JDBC on H2 |")
        .contains("600 lines (592 unique ids), batch 128, H2 vs Spring Batch on H2 |")
        .contains("600 lines (592 unique ids), batch 128, H2 CPU per line vs in memory | H2 ")
        .contains(
            "600 lines (592 unique ids), batch 128, H2 floor (id rows and batch rows only, no"
                + " stages) vs Spring Batch on H2 |")
        .contains("batch 128, H2 floor, one commit a batch vs Spring Batch on H2 |")
        .contains("batch 128, the most H2 could reach: ")
        .contains("| durable linear cost, H2 file: example's 8 stages, rolling index |");
    String io = messages.contains("PostgreSQL is not reachable") ? "H2 file" : "PostgreSQL";
    assertThat(out)
        .contains("| durable IO-bound: 6 of 8 stages wait 2 ms, c=20, 400 records, " + io + " | ")
        .contains(
            "| durable IO-bound: 6 of 8 stages wait 2 ms, c=20, 400 records, "
                + io
                + " vs Spring Batch (chunks of "
                + SpringBatchIoWork.CHUNK
                + ", "
                + SpringBatchIoWork.CONCURRENCY
                + " items processed at once on virtual threads) | "
                + io
                + " ")
        .contains("| Spring Batch on " + io + " ");
    if (!messages.contains("PostgreSQL is not reachable")) {
      assertThat(out)
          .contains("batch 128, PostgreSQL vs raw JDBC on PostgreSQL |")
          .contains("batch 128, PostgreSQL vs bare raw JDBC on PostgreSQL | PostgreSQL")
          .contains("batch 128, PostgreSQL vs Spring Batch on PostgreSQL | PostgreSQL")
          .contains("batch 128, PostgreSQL CPU per line vs in memory | PostgreSQL ")
          .contains("| durable workers, PostgreSQL: 3 worker JVMs, 600 lines")
          .contains(
              "| durable workers, PostgreSQL: 3 worker JVMs, marginal CPU per line from 600 to"
                  + " 1,200 lines (worker JVMs + backends)")
          .contains(
              "| durable workers, PostgreSQL: 3 worker JVMs, CPU per line while every worker is"
                  + " busy")
          .contains(
              "| durable workers, PostgreSQL: 3 worker JVMs, CPU per line while every worker is"
                  + " busy, its JVMs' compiler threads left out")
          .contains(
              "| durable workers in one JVM, PostgreSQL: a store each, one schema, 600 lines, CPU"
                  + " per line (JVM + backends), 2 workers vs 1 | 2 workers: ")
          .contains("CPU per line (JVM + backends), 3 workers vs 1 | 3 workers: ");
    }
    assertThat(out.lines().filter(line -> line.startsWith("| ")).skip(1))
        .allSatisfy(
            row ->
                assertThat(row).containsAnyOf("| PASS |", "| FAIL |", "| reported | REPORTED |"));
  }
}
