package dev.pipeline.examples.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.testkit.StderrCapture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListingLinesTest {
  private static final String GOOD =
      "|Caterpillar 320 excavator, 2015|EUR 85.000|EUR|very good condition|en";

  private static RunResult run(ByteArrayOutputStream stdout, String... args) throws Exception {
    return EquipmentListingsApp.run(
        EquipmentListingsApp.Options.parse(args),
        new PrintStream(stdout, true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  @Test
  void invalidUtf8AndOverlongLinesAreDeadLettersOfThoseLinesAlone(@TempDir Path dir)
      throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes(("shop-1" + GOOD + "\n").getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes("shop-2|Linde H30 forklift ".getBytes(StandardCharsets.UTF_8));
    bytes.write(0xFF); // not UTF-8
    bytes.writeBytes("|EUR 9.000|EUR|ok|en\n".getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes(("shop-3" + GOOD).getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes("x".repeat(ListingLines.MAX_LINE_BYTES).getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes(("\nshop-4" + GOOD + "\n").getBytes(StandardCharsets.UTF_8));
    Path input = dir.resolve("mine.txt");
    Files.write(input, bytes.toByteArray());
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();

    // on the embedded database: the dead letters are stored as any other
    RunResult result =
        run(stdout, "--file", input.toString(), "--db", dir.resolve("db").toString(), "--quiet");

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.read()).isEqualTo(4);
    assertThat(result.published()).isEqualTo(2);
    assertThat(result.deadLettered()).isEqualTo(2);
    assertThat(stdout.toString(StandardCharsets.UTF_8))
        .contains("mine.txt-line-2 at ingestion")
        .contains("line 2 of source 'mine.txt' is not valid UTF-8")
        .contains("mine.txt-line-3 at ingestion")
        .contains(
            "line 3 of source 'mine.txt' has "
                + (("shop-3" + GOOD).length() + ListingLines.MAX_LINE_BYTES)
                + " bytes, more than the limit of "
                + ListingLines.MAX_LINE_BYTES);
  }

  @Test
  void directoryOrDeviceIsRefusedBeforeStarting(@TempDir Path dir) {
    assertThatIllegalArgumentException()
        .isThrownBy(
            () -> EquipmentListingsApp.Options.parse(new String[] {"--file", dir.toString()}))
        .withMessageContaining("is a directory: --file takes a file of listings");
    Path device = Path.of("/dev/zero");
    if (Files.exists(device)) {
      assertThatIllegalArgumentException()
          .isThrownBy(
              () -> EquipmentListingsApp.Options.parse(new String[] {"--file", device.toString()}))
          .withMessageContaining("/dev/zero is not a regular file");
    }
  }

  @Test
  void runFailsAndExitsNonZeroWhenItsOnlySourceCannotBeRead(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("mine.txt");
    Files.writeString(input, "shop-1" + GOOD + "\n", StandardCharsets.UTF_8);
    EquipmentListingsApp.Options options =
        EquipmentListingsApp.Options.parse(
            new String[] {"--file", input.toString(), "--memory", "--quiet"});
    Files.delete(input); // gone between the check and the read
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result =
          EquipmentListingsApp.run(
              options,
              new PrintStream(stdout, true, StandardCharsets.UTF_8),
              new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      assertThat(log.text()).contains("ERROR", "source 'mine.txt' failed", "NoSuchFileException");
    }

    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(EquipmentListingsApp.exitCode(result)).isEqualTo(1);
    assertThat(stdout.toString(StandardCharsets.UTF_8))
        .contains("failed")
        .contains("source error: source 'mine.txt' failed after yielding 0 records")
        .contains("NoSuchFileException");
  }
}
