package dev.pipeline.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Runs every scenario with a few records, to prove the benchmark code works. The figures of so
 * small a run mean nothing, so none is asserted: timing belongs to {@link Targets}, never to a unit
 * test.
 */
class TargetsTest {

  @Test
  void everyInMemoryScenarioRunsAndPrintsItsRows() {
    ByteArrayOutputStream table = new ByteArrayOutputStream();
    ByteArrayOutputStream log = new ByteArrayOutputStream();

    int exit =
        Targets.run(
            new String[] {
              "overhead", "realwork", "io", "memory", "resilience", "--smoke", "--in-process"
            },
            new PrintStream(table, true, StandardCharsets.UTF_8),
            new PrintStream(log, true, StandardCharsets.UTF_8));

    String out = table.toString(StandardCharsets.UTF_8);
    assertThat(exit).as(log.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out)
        .contains("| 1. overhead: 8 trivial stages, 20k records |")
        .contains("| 2. real work: listings example, 8 stages, 3k records")
        .contains("| 2b. real work with default options: listings example, 8 stages, 3k records")
        .contains("| 2c. real work with default options against Spring Batch")
        .contains("| 3. IO-bound: 6 of 8 stages wait 2 ms, c=20, 400 records |")
        .contains("| 4. memory: 30k records, -Xmx256m |")
        .contains(
            "| 5. resilience: listings example, 8 stages each with retry + circuit breaker + token"
                + " bucket (permissive), 3k records");
    assertThat(out.lines().filter(line -> line.startsWith("| ")).skip(1))
        .allSatisfy(row -> assertThat(row).containsAnyOf("| PASS |", "| FAIL |"));
  }

  @Test
  void theResilienceScenarioRunsBareAndWrappedPipelinesToTheSameOutcome() {
    ByteArrayOutputStream table = new ByteArrayOutputStream();
    ByteArrayOutputStream log = new ByteArrayOutputStream();

    int exit =
        Targets.run(
            new String[] {"resilience", "--smoke", "--in-process"},
            new PrintStream(table, true, StandardCharsets.UTF_8),
            new PrintStream(log, true, StandardCharsets.UTF_8));

    String messages = log.toString(StandardCharsets.UTF_8);
    assertThat(exit).as(messages).isZero();
    assertThat(messages)
        .contains("resilience round 1/1: bare ")
        .contains("resilience: every round, bare and wrapped: Outcome[");
    assertThat(table.toString(StandardCharsets.UTF_8))
        .containsPattern(
            "\\| 5\\. resilience: .* \\| wrapped .* records/s \\| bare .* records/s \\|"
                + " overhead [-+][0-9.]+% \\([-+][0-9.]+ to [-+][0-9.]+%\\)[^|]* \\| ≤ 15% \\|"
                + " (PASS|FAIL) \\|");
  }

  @Test
  void aScenarioRunsInAJvmOfItsOwnAndReportsItsRowsBack() {
    ByteArrayOutputStream table = new ByteArrayOutputStream();
    ByteArrayOutputStream log = new ByteArrayOutputStream();

    int exit =
        Targets.run(
            new String[] {"overhead", "--smoke"},
            new PrintStream(table, true, StandardCharsets.UTF_8),
            new PrintStream(log, true, StandardCharsets.UTF_8));

    assertThat(exit).as(log.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(log.toString(StandardCharsets.UTF_8)).contains("overhead round 1/1:");
    assertThat(table.toString(StandardCharsets.UTF_8))
        .contains("| 1. overhead: 8 trivial stages, 20k records |");
  }

  @Test
  void aBadArgumentIsAUsageError() {
    ByteArrayOutputStream log = new ByteArrayOutputStream();

    int exit =
        Targets.run(
            new String[] {"overheat"},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(log, true, StandardCharsets.UTF_8));

    assertThat(exit).isEqualTo(2);
    assertThat(log.toString(StandardCharsets.UTF_8)).contains("unknown argument 'overheat'");
  }

  @Test
  void samplesReportMedianAndRange() {
    Samples samples = Samples.of(new double[] {5, 1, 3, 100});

    assertThat(samples).isEqualTo(new Samples(4, 1, 100));
    assertThat(samples.format("%.0f")).isEqualTo("4 (1–100)");
  }

  @Test
  void countsReadShort() {
    assertThat(Targets.count(10_000_000)).isEqualTo("10M");
    assertThat(Targets.count(1_500_000)).isEqualTo("1.5M");
    assertThat(Targets.count(50_000)).isEqualTo("50k");
    assertThat(Targets.count(1_234)).isEqualTo("1,234");
  }
}
