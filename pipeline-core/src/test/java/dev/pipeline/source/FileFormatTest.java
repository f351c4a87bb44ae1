package dev.pipeline.source;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.StageContext;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileFormatTest {

  @Test
  void charsetsWhoseBytesCannotBeSplitOnAsciiAreRefused() {
    for (String name : List.of("UTF-16", "UTF-16LE", "UTF-32", "Shift_JIS", "GBK", "IBM037")) {
      assertThatIllegalArgumentException()
          .as(name)
          .isThrownBy(() -> FileFormat.lines().charset(Charset.forName(name)))
          .withMessageContaining("is not supported: records are split on ASCII bytes");
    }
    for (Charset ok :
        List.of(
            StandardCharsets.UTF_8,
            StandardCharsets.US_ASCII,
            StandardCharsets.ISO_8859_1,
            Charset.forName("windows-1252"))) {
      assertThat(FileFormat.csv(CsvOptions.defaults()).charset(ok).charset()).isEqualTo(ok);
    }
  }

  @Test
  void optionsAreCheckedAtOnceAndSayTheAllowedRange() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> FileFormat.lines().maxRecordBytes(0))
        .withMessage(
            "maxRecordBytes must be between 1 and 268435456, was 0"
                + " (FileFormat.DEFAULT_MAX_RECORD_BYTES is 1048576)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> FileFormat.lines().onMalformedInput(CodingErrorAction.IGNORE))
        .withMessageContaining("must be CodingErrorAction.REPORT");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> FileFormat.paragraphs(" \t"))
        .withMessageContaining("for blank lines use paragraphs()");
    assertThatIllegalArgumentException().isThrownBy(() -> FileFormat.paragraphs("--- "));
    assertThatIllegalArgumentException().isThrownBy(() -> FileFormat.paragraphs("a\nb"));
    assertThatIllegalArgumentException()
        .isThrownBy(
            () ->
                FileSources.file(
                    "s",
                    Path.of("x"),
                    FileFormat.paragraphs("\u00a7\u20ac").charset(StandardCharsets.ISO_8859_1)))
        .withMessageContaining("cannot be written in ISO-8859-1");
    assertThatNullPointerException()
        .isThrownBy(() -> FileFormat.jsonLines(null, s -> s))
        .withMessage("parser cannot be null");
    assertThatNullPointerException()
        .isThrownBy(() -> FileFormat.lines().map(s -> s, null))
        .withMessage("unreadable cannot be null");

    FileFormat<String> format =
        FileFormat.lines()
            .charset(StandardCharsets.ISO_8859_1)
            .onMalformedInput(CodingErrorAction.REPLACE)
            .maxRecordBytes(10);
    assertThat(format.charset()).isEqualTo(StandardCharsets.ISO_8859_1);
    assertThat(format.onMalformedInput()).isEqualTo(CodingErrorAction.REPLACE);
    assertThat(format.maxRecordBytes()).isEqualTo(10);
    assertThat(FileFormat.lines().onMalformedInput()).isEqualTo(CodingErrorAction.REPORT);
  }

  @Test
  void csvOptionsAreCheckedAtOnceAndSetOnce() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> CsvOptions.builder().separator('\n'))
        .withMessageContaining("printable ASCII character (U+0020 to U+007E) or a tab, was U+000A");
    assertThatIllegalArgumentException().isThrownBy(() -> CsvOptions.builder().separator('\u00e9'));
    assertThatIllegalArgumentException().isThrownBy(() -> CsvOptions.builder().quote(' '));
    assertThatIllegalArgumentException()
        .isThrownBy(() -> CsvOptions.builder().maxColumns(CsvOptions.MAX_COLUMNS + 1))
        .withMessage("maxColumns must be between 1 and 65536, was 65537");
    assertThatIllegalArgumentException().isThrownBy(() -> CsvOptions.builder().maxFieldBytes(0));
    assertThatIllegalStateException()
        .isThrownBy(() -> CsvOptions.builder().separator(';').separator(','))
        .withMessage("separator was already set to ';'");
    assertThatIllegalStateException()
        .isThrownBy(() -> CsvOptions.builder().separator('"').build())
        .withMessageContaining("separator and quote are both '\"'");

    CsvOptions tabs = CsvOptions.builder().separator('\t').quote('\'').maxColumns(3).build();
    assertThat(tabs.separator()).isEqualTo('\t');
    assertThat(tabs.quote()).isEqualTo('\'');
    assertThat(tabs.maxColumns()).isEqualTo(3);
    assertThat(tabs.maxFieldBytes()).isEqualTo(CsvOptions.DEFAULT_MAX_FIELD_BYTES);
    assertThat(tabs)
        .hasToString("CsvOptions[separator='\\t', quote=''', maxFieldBytes=1048576, maxColumns=3]");
  }

  @Test
  void sourceIdsMustFitARecordId() {
    Path file = Path.of("x");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> FileSources.file(" ", file, FileFormat.lines()))
        .withMessage("sourceId cannot be blank");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> FileSources.file("s".repeat(513), file, FileFormat.lines()))
        .withMessageStartingWith("sourceId must be at most 512 characters, was 513");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> FileSources.directory("a\0b", file, "*", FileFormat.lines()))
        .withMessageContaining("contains NUL (U+0000) at index 1");
    assertThatNullPointerException()
        .isThrownBy(() -> FileSources.stream("s", null, FileFormat.lines()))
        .withMessage("opener cannot be null");
  }

  /** The example of {@link FileSources}'s javadoc, run. */
  @Test
  void theJavadocExampleRuns(@TempDir Path inbox) throws Exception {
    Files.writeString(
        inbox.resolve("a.csv"), "id;cents\nA;100\nB;x\n", StandardCharsets.ISO_8859_1);
    Queue<Envelope<Order>> sink = new ConcurrentLinkedQueue<>();
    Pipeline<Order, Order> pipeline =
        Pipeline.builder("orders", Order.class)
            .stage(CLEANING, (Order o, StageContext context) -> o)
            .sink(sink::addAll)
            .alerts(a -> {})
            .build();

    // the example, as it is in the javadoc
    CsvOptions semicolons = CsvOptions.builder().separator(';').build();
    FileFormat<Order> orders =
        FileFormat.csvWithHeader(semicolons)
            .charset(StandardCharsets.ISO_8859_1)
            .map(row -> Order.of(row), row -> Order.unreadable(row));
    RunResult result = pipeline.run(FileSources.directory("inbox", inbox, "*.csv", orders));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sink).extracting(Envelope::payload).containsExactly(new Order("A", 100));
    assertThat(result.deadLettered()).isEqualTo(1);
  }

  record Order(String id, int cents) {
    static Order of(Map<String, String> row) {
      return new Order(row.get("id"), Integer.parseInt(row.get("cents")));
    }

    static Order unreadable(Map<String, String> row) {
      return new Order(String.valueOf(row.get("id")), -1);
    }
  }
}
