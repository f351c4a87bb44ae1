package dev.pipeline.examples.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.OutputShapeException;
import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.ListingGenerator;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.examples.listings.MalformedListingException;
import dev.pipeline.metrics.ReferenceDataMetrics;
import dev.pipeline.quality.QualityGate;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.RecordStatus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EquipmentPipelineTest {

  @Test
  void bundledDataEndsWithEveryListingInOneTerminalState() {
    ListingIndex index = new ListingIndex();
    Map<String, IndexedListing> sunk = new ConcurrentHashMap<>();
    Map<String, String> tagged = new ConcurrentHashMap<>();
    Pipeline<ScrapedLine, IndexedListing> pipeline =
        EquipmentPipeline.stages(Pipeline.builder("equipment", ScrapedLine.class), index)
            .sink(
                records ->
                    records.forEach(
                        r -> {
                          sunk.put(r.id(), r.payload());
                          String violations = r.metadata().get(QualityGate.VIOLATIONS_KEY);
                          if (violations != null) {
                            tagged.put(r.id(), violations);
                          }
                        }))
            .build();

    RunResult result =
        pipeline.run(
            ListingLines.stream(ListingGenerator.BUNDLED_SOURCE_ID, ListingGenerator::openBundled));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.read()).isEqualTo(ListingGenerator.BUNDLED_COUNT);
    assertThat(result.duplicates()).isPositive();
    assertThat(result.published() + result.filtered() + result.deadLettered() + result.duplicates())
        .isEqualTo(result.read());
    assertThat(result.unfinished()).isZero();
    assertThat(sunk).hasSize((int) result.published());
    assertThat(index.size()).isEqualTo(sunk.size());
    assertThat(result.filtered()).isPositive();

    List<DeadLetter> dead =
        pipeline.deadLetters().find(DeadLetterQuery.all().limit(10_000)).items();
    assertThat(dead).hasSize((int) result.deadLettered());
    List<DeadLetter> malformed = dead.stream().filter(d -> d.stage().equals("ingestion")).toList();
    assertThat(malformed)
        .isNotEmpty()
        .allSatisfy(
            d -> {
              assertThat(d.lastError().errorType())
                  .isEqualTo(MalformedListingException.class.getSimpleName());
              assertThat(d.lastError().message()).contains("line ");
            });
    assertThat(dead.stream().filter(d -> d.stage().equals("validation")))
        .isNotEmpty()
        .allSatisfy(
            d ->
                assertThat(d.lastError().errorType())
                    .isEqualTo(ListingRejectedException.class.getSimpleName()));
    String someId = sunk.keySet().iterator().next();
    assertThat(pipeline.store().find("equipment", someId))
        .hasValueSatisfying(s -> assertThat(s.status()).isEqualTo(RecordStatus.PUBLISHED));
    assertThat(pipeline.metrics().stage("publishing").bytesPerSecond()).isPositive();

    // the indexing stage looked each listing's euro rate up in the pipeline's cache
    ReferenceDataMetrics rates = result.metrics().referenceData("eur-rates");
    assertThat(rates.stages()).containsExactly("indexing");
    assertThat(rates.loads()).as("one quote per currency").isBetween(1L, 4L);
    assertThat(rates.loadFailures()).isZero();
    assertThat(rates.hits() + rates.misses())
        .as("one lookup per listing indexed")
        .isEqualTo(result.metrics().stage("indexing").recordsIn());
    assertThat(result.summary()).contains("eur-rates");

    // the validation stage's quality rules tagged the listings that failed them, and let them on
    assertThat(tagged)
        .as("tagged listings")
        .isNotEmpty()
        .allSatisfy(
            (id, violations) ->
                assertThat(violations)
                    .matches(
                        "(title-length|sentiment-range|id-form|unique-id|declared-language|priced): .*"));
  }

  @Test
  void everyStagesRecordOutputHasItsShapeSoTheDefaultCheckChangesNoOutcome() {
    RunResult checked = runBundled(Pipeline.builder("shapes-on", ScrapedLine.class));
    RunResult unchecked =
        runBundled(Pipeline.builder("shapes-off", ScrapedLine.class).shapeChecks(false));

    // each of the eight stages returns a record (RawListing ... IndexedListing) whose components
    // are all required: the check reads them all and finds nothing to refuse
    assertThat(checked.published()).isPositive().isEqualTo(unchecked.published());
    assertThat(checked.filtered()).isEqualTo(unchecked.filtered());
    assertThat(checked.deadLettered()).isEqualTo(unchecked.deadLettered());
  }

  private static RunResult runBundled(PipelineBuilder<ScrapedLine, ScrapedLine> builder) {
    try (Pipeline<ScrapedLine, IndexedListing> pipeline =
        EquipmentPipeline.stages(builder, new ListingIndex()).sink(records -> {}).build()) {
      RunResult result =
          pipeline.run(
              ListingLines.stream(
                  ListingGenerator.BUNDLED_SOURCE_ID, ListingGenerator::openBundled));
      assertThat(
              pipeline.deadLetters().find(DeadLetterQuery.all().limit(10_000)).items().stream()
                  .map(d -> d.lastError().errorType()))
          .doesNotContain(OutputShapeException.class.getSimpleName());
      return result;
    }
  }

  @Test
  void appProcessesAUsersFileAndWritesPublishedListings(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("mine.txt");
    Files.writeString(
        input,
        String.join(
            "\n",
            "shop-1|Caterpillar 320 excavator, 2015|EUR 85.000|EUR|very good condition|en",
            "shop-2|Linde H30 forklift|on request||gebraucht|de",
            "shop-3|broken line without fields",
            "shop-1|Caterpillar 320 excavator, 2015|EUR 85.000|EUR|very good condition|en"),
        StandardCharsets.UTF_8);
    Path out = dir.resolve("published.jsonl");
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    RunResult result =
        EquipmentListingsApp.run(
            EquipmentListingsApp.Options.parse(
                new String[] {
                  "--file",
                  input.toString(),
                  "--out",
                  out.toString(),
                  "--search",
                  "excavator",
                  "--db",
                  dir.resolve("state").toString()
                }),
            new PrintStream(stdout, true, StandardCharsets.UTF_8),
            new PrintStream(stderr, true, StandardCharsets.UTF_8));

    assertThat(result.read()).isEqualTo(4);
    assertThat(result.duplicates()).isEqualTo(1);
    assertThat(result.published()).isEqualTo(1);
    assertThat(result.filtered()).isEqualTo(1);
    assertThat(result.deadLettered()).isEqualTo(1);
    assertThat(Files.readAllLines(out)).singleElement().asString().contains("\"shop-1\"");
    String printed = stdout.toString(StandardCharsets.UTF_8);
    assertThat(printed)
        .contains("4 records in", "1 published", "1 filtered", "1 dead-lettered", "1 duplicates")
        .contains("p50", "p95", "p99", "records/s")
        .contains("shop-3 at ingestion: MalformedListingException")
        .contains("search \"excavator\": 1 hits");
    assertThat(stderr.toString(StandardCharsets.UTF_8)).contains("completed read=4");
    assertThat(dir.resolve("state.mv.db")).exists();

    // a second run on the same embedded database skips what the first one processed
    ByteArrayOutputStream again = new ByteArrayOutputStream();
    RunResult rerun =
        EquipmentListingsApp.run(
            EquipmentListingsApp.Options.parse(
                new String[] {
                  "--file", input.toString(), "--db", dir.resolve("state").toString(), "--quiet"
                }),
            new PrintStream(again, true, StandardCharsets.UTF_8),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertThat(rerun.duplicates()).isEqualTo(4);
    assertThat(rerun.published()).isZero();
    assertThat(again.toString(StandardCharsets.UTF_8)).contains("use --fresh");
  }

  @Test
  void aPostgresUrlThatRunsCodeIsRefusedAndWritesNothing(@TempDir Path dir) {
    Path pwned = dir.resolve("pwned.txt");
    String url = "jdbc:h2:mem:a;IN\\IT=CALL FILE_WRITE(STRINGTOUTF8('x'),'" + pwned + "')";

    org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
        .isThrownBy(
            () ->
                EquipmentListingsApp.run(
                    EquipmentListingsApp.Options.parse(
                        new String[] {"--postgres", url, "--generate", "1", "--quiet"}),
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)))
        .withMessageContaining("H2 URL rejected: setting INIT");
    assertThat(pwned).doesNotExist();
    org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
        .isThrownBy(
            () ->
                EquipmentListingsApp.Options.parse(
                    new String[] {
                      "--postgres",
                      "jdbc:postgresql://127.0.0.1:5432/test?socketFactory=com.evil.Factory"
                    }))
        .withMessageContaining("socketFactory names a class the driver instantiates");
  }

  /** The output file is opened first and closed whatever fails after it, the store included. */
  @Test
  void theOutputFileIsClosedWhenTheStoreCannotBeOpened(@TempDir Path dir) throws Exception {
    Path fd = Path.of("/proc/self/fd");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(fd), "needs /proc (Linux)");
    Path notADirectory = Files.writeString(dir.resolve("plain-file"), "x");
    Path out = dir.resolve("published.jsonl");

    org.assertj.core.api.Assertions.assertThatExceptionOfType(java.io.IOException.class)
        .isThrownBy(
            () ->
                EquipmentListingsApp.run(
                    EquipmentListingsApp.Options.parse(
                        new String[] {
                          "--generate",
                          "1",
                          "--quiet",
                          "--out",
                          out.toString(),
                          "--db",
                          notADirectory.resolve("state").toString()
                        }),
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));

    assertThat(out).exists();
    List<Path> open;
    try (var fds = Files.list(fd)) {
      open =
          fds.map(
                  f -> {
                    try {
                      return Files.readSymbolicLink(f);
                    } catch (java.io.IOException gone) {
                      return f; // the directory's own descriptor, closed by now
                    }
                  })
              .toList();
    }
    assertThat(open).as("files this process holds open").doesNotContain(out.toRealPath());
  }

  @Test
  void textFromTheDataIsPrintedWithControlAndBidiCharactersEscaped() {
    assertThat(
            EquipmentListingsApp.printable(
                "id\n[main] forged\u001B[2J\u202Etxt\u2028 ok é\uD83D\uDE00"))
        .isEqualTo("id\\u000A[main] forged\\u001B[2J\\u202Etxt\\u2028 ok é\uD83D\uDE00");
  }

  @Test
  void badArgumentsAreRejectedWithTheReason() {
    org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
        .isThrownBy(() -> EquipmentListingsApp.Options.parse(new String[] {"--generate", "-3"}))
        .withMessageContaining("--generate needs a non-negative number");
    org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
        .isThrownBy(() -> EquipmentListingsApp.Options.parse(new String[] {"--bogus"}))
        .withMessageContaining("unknown option --bogus");
  }
}
