package dev.pipeline.examples.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.examples.listings.Category;
import dev.pipeline.examples.listings.Facets;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.PriceInfo;
import dev.pipeline.examples.listings.SentimentLabel;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.PipelineStore;
import dev.pipeline.store.RecordStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesSinkTest {
  private static final Pattern ID = Pattern.compile("^\\{\"id\":\"([^\"]+)\"");
  private static final long DEADLINE_NANOS = TimeUnit.MINUTES.toNanos(2);

  private static RunResult run(String... args) throws Exception {
    return EquipmentListingsApp.run(
        EquipmentListingsApp.Options.parse(args),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  /** The id of each line, in order; fails on a line that is not a whole listing. */
  private static List<String> ids(Path file) throws IOException {
    List<String> ids = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      Matcher m = ID.matcher(line);
      assertThat(m.find()).as("a listing line: %s", line).isTrue();
      assertThat(line).endsWith("}");
      ids.add(m.group(1));
    }
    return ids;
  }

  private static long lines(Path file) throws IOException {
    if (!Files.exists(file)) {
      return 0;
    }
    try (var all = Files.lines(file, StandardCharsets.ISO_8859_1)) {
      return all.count();
    }
  }

  @Test
  void listingsPublishedBeforeASigkillStayAndEachIsInTheFileOnceAfterTheResume(@TempDir Path dir)
      throws Exception {
    Path out = dir.resolve("published.jsonl");
    String db = dir.resolve("state").toString();
    String[] args = {
      "--generate", "4000", "--db", db, "--out", out.toString(), "--quiet", "--dead-letters", "0"
    };
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(EquipmentListingsApp.class.getName());
    command.addAll(List.of(args));
    Process child =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("child.log").toFile())
            .start();
    long before;
    try {
      long deadline = System.nanoTime() + DEADLINE_NANOS;
      while (lines(out) < 200) {
        assertThat(child.isAlive())
            .as(
                "the child runs until killed; its log: %s",
                Files.readString(dir.resolve("child.log")))
            .isTrue();
        assertThat(System.nanoTime() - deadline).as("200 listings written in time").isNegative();
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
      }
    } finally {
      child.destroyForcibly(); // SIGKILL
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    before = lines(out);
    Set<String> written = new HashSet<>();
    for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
      Matcher m = ID.matcher(line);
      if (m.find() && line.endsWith("}")) {
        written.add(m.group(1)); // the last line may be cut short by the kill
      }
    }

    RunResult resumed = run(args);

    assertThat(resumed.status()).isEqualTo(RunStatus.COMPLETED);
    List<String> ids = ids(out);
    assertThat(ids).hasSizeGreaterThanOrEqualTo((int) before - 1);
    assertThat(new HashSet<>(ids)).hasSize(ids.size()).containsAll(written);
    try (PipelineStore store = JdbcPipelineStore.builder().h2File(Path.of(db)).build()) {
      assertThat(store.counts("equipment").get(RecordStatus.PUBLISHED)).isEqualTo(ids.size());
      for (String id : ids) {
        assertThat(store.find("equipment", id))
            .hasValueSatisfying(s -> assertThat(s.status()).isEqualTo(RecordStatus.PUBLISHED));
      }
    }
  }

  private static Envelope<IndexedListing> listing(String id, String title, long token) {
    IndexedListing listing =
        new IndexedListing(
            id,
            "src",
            1,
            title,
            title,
            "",
            "en",
            Category.EXCAVATOR,
            "cat",
            "320",
            OptionalInt.empty(),
            OptionalInt.empty(),
            PriceInfo.missing(),
            0,
            0,
            SentimentLabel.NEUTRAL,
            1,
            List.of(),
            List.of(),
            new Facets("cat", "excavator", "unknown", "unknown", "unknown", "en"));
    return Envelope.of(id, listing).withMetadata(Envelope.FENCING_TOKEN, Long.toString(token));
  }

  @Test
  void writesCarryTheirFencingTokenAndAStaleOneIsRefusedAlsoAfterTheFileIsReopened(
      @TempDir Path dir) throws Exception {
    Path out = dir.resolve("published.jsonl");
    try (JsonLinesSink sink = new JsonLinesSink(out, true)) {
      sink.publish(List.of(listing("a", "new holder", 2), listing("b", "only", 1)));
    }
    try (JsonLinesSink other = new JsonLinesSink(out, false)) { // another process, later
      other.publish(List.of(listing("a", "stale copy", 1)));
      other.publish(List.of(listing("a", "new holder", 2), listing("b", "only", 3)));
      assertThat(other.refusedStale()).as("the lower token's write").isOne();
      other.publish(List.of(listing("a", "newest", 4)));
    }

    List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
    assertThat(lines)
        .as("a higher token with the same listing writes nothing; with a new one, a newer line")
        .hasSize(3);
    assertThat(lines.get(0)).contains("new holder").endsWith(",\"fencingToken\":2}");
    assertThat(lines.get(1)).contains("\"b\"").endsWith(",\"fencingToken\":1}");
    assertThat(lines.get(2)).contains("newest").endsWith(",\"fencingToken\":4}");
    try (JsonLinesSink reopened = new JsonLinesSink(out, false)) {
      reopened.publish(List.of(listing("a", "stale copy", 3)));
      assertThat(reopened.refusedStale()).as("token 4 was read back from the file").isOne();
    }
    assertThat(Files.readAllLines(out, StandardCharsets.UTF_8)).hasSize(3);
  }

  @Test
  void rerunAppendsEachListingOnceAndDropsALineCutShort(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("published.jsonl");
    String[] args = {"--generate", "300", "--memory", "--out", out.toString(), "--quiet"};
    RunResult first = run(args);
    List<String> ids = ids(out);
    assertThat(ids).hasSize((int) first.published()).doesNotHaveDuplicates();
    Files.writeString(out, "{\"id\":\"cut-short\",\"tit", StandardOpenOption.APPEND);

    RunResult again = run(args); // the in-memory store forgets: every listing is delivered again

    assertThat(again.published()).isEqualTo(first.published());
    assertThat(ids(out)).isEqualTo(ids);
  }

  @Test
  void rerunOnTheSameDatabaseKeepsTheListingsAlreadyWritten(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("published.jsonl");
    String[] args = {
      "--generate",
      "100",
      "--db",
      dir.resolve("state").toString(),
      "--out",
      out.toString(),
      "--quiet"
    };
    RunResult first = run(args);
    List<String> ids = ids(out);
    assertThat(ids).hasSize((int) first.published()).isNotEmpty();

    RunResult again = run(args); // every listing is a duplicate now: nothing is delivered

    assertThat(again.published()).isZero();
    assertThat(ids(out)).isEqualTo(ids);
  }

  @Test
  void freshRunEmptiesTheFile(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("published.jsonl");
    Files.writeString(out, "{\"id\":\"old\"}\n");

    RunResult result =
        run("--generate", "50", "--memory", "--out", out.toString(), "--quiet", "--fresh");

    assertThat(ids(out)).hasSize((int) result.published()).doesNotContain("old");
  }
}
