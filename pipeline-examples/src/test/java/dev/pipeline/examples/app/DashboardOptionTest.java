package dev.pipeline.examples.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DashboardOptionTest {
  @Test
  void theDashboardOptionServesTheRunAndPrintsItsAddress() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    RunResult result =
        EquipmentListingsApp.run(
            EquipmentListingsApp.Options.parse(
                new String[] {"--memory", "--quiet", "--generate", "200", "--dashboard", "0"}),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .containsPattern("dashboard: http://127\\.0\\.0\\.1:\\d+/");
  }

  @Test
  void thePortIsOptionalAndChecked() {
    assertThat(EquipmentListingsApp.Options.parse(new String[] {"--dashboard"}).dashboardPort)
        .isEqualTo(EquipmentListingsApp.DEFAULT_DASHBOARD_PORT);
    assertThat(
            EquipmentListingsApp.Options.parse(new String[] {"--dashboard", "--memory"})
                .dashboardPort)
        .isEqualTo(EquipmentListingsApp.DEFAULT_DASHBOARD_PORT);
    assertThat(
            EquipmentListingsApp.Options.parse(new String[] {"--dashboard", "9000"}).dashboardPort)
        .isEqualTo(9000);
    assertThatIllegalArgumentException()
        .isThrownBy(() -> EquipmentListingsApp.Options.parse(new String[] {"--dashboard", "70000"}))
        .withMessageContaining("0 to 65535");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> EquipmentListingsApp.Options.parse(new String[] {"--dashboard", "x"}))
        .withMessageContaining("non-negative number");
  }
}
