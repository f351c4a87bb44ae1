package dev.pipeline.examples.listings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListingGeneratorTest {

  private static byte[] bundled;

  @BeforeAll
  static void readBundledDataSet() throws IOException {
    try (InputStream in = ListingGenerator.openBundled()) {
      bundled = in.readAllBytes();
    }
  }

  private static List<String> bundledLines() {
    return new String(bundled, StandardCharsets.UTF_8).lines().toList();
  }

  @Test
  void reproducesTheBundledDataSetByteForByte() throws IOException {
    ByteArrayOutputStream generated = new ByteArrayOutputStream(bundled.length);
    try (Writer out = new OutputStreamWriter(generated, StandardCharsets.UTF_8)) {
      new ListingGenerator(ListingGenerator.DEFAULT_SEED)
          .write(out, ListingGenerator.BUNDLED_COUNT);
    }

    assertThat(generated.toByteArray()).isEqualTo(bundled);
  }

  @Test
  void everyBundledLineParsesOrIsReportedMalformed() {
    List<String> lines = bundledLines();
    int malformed = 0;
    for (int i = 0; i < lines.size(); i++) {
      try {
        ListingParser.parse(ListingGenerator.BUNDLED_SOURCE_ID, i + 1, lines.get(i));
      } catch (MalformedListingException e) {
        malformed++;
      }
    }

    assertThat(lines).hasSize(ListingGenerator.BUNDLED_COUNT);
    assertThat(malformed).isPositive().isLessThan(lines.size() / 200);
  }

  @Test
  void repostsAboutTwoPercentOfListingsVerbatim() {
    Map<String, String> firstLineById = new HashMap<>();
    int reposts = 0;
    for (String line : bundledLines()) {
      String id = line.substring(0, Math.max(0, line.indexOf('|'))).strip();
      String first = firstLineById.putIfAbsent(id, line);
      if (first != null && !id.isEmpty()) {
        assertThat(line).as("repost of %s", id).isEqualTo(first);
        reposts++;
      }
    }

    assertThat(reposts)
        .isBetween(ListingGenerator.BUNDLED_COUNT / 100, ListingGenerator.BUNDLED_COUNT * 3 / 100);
  }

  @Test
  void givesTheSameLinesForTheSameSeedAndOthersForAnother() {
    List<String> first = take(new ListingGenerator(7).lines(300));

    assertThat(take(new ListingGenerator(7).lines(300))).isEqualTo(first);
    assertThat(take(new ListingGenerator(8).lines(300))).isNotEqualTo(first);
    assertThat(new HashSet<>(first)).hasSizeGreaterThan(250);
  }

  @Test
  void producesLinesLazily() {
    Iterator<String> endless = new ListingGenerator(1).lines(Integer.MAX_VALUE);

    assertThat(endless.next()).startsWith("scraper-");
    assertThat(endless.hasNext()).isTrue();
  }

  @Test
  void stopsAfterTheRequestedCount() {
    Iterator<String> lines = new ListingGenerator(1).lines(2);
    lines.next();
    lines.next();

    assertThat(lines.hasNext()).isFalse();
    assertThatThrownBy(lines::next).isInstanceOf(java.util.NoSuchElementException.class);
    assertThatThrownBy(() -> new ListingGenerator(1).lines(-1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void mainWritesTheRequestedLinesToAFile(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("nested/listings.txt");

    ListingGenerator.main(new String[] {file.toString(), "40", "99"});

    StringWriter expected = new StringWriter();
    new ListingGenerator(99).write(expected, 40);
    assertThat(Files.readString(file, StandardCharsets.UTF_8)).isEqualTo(expected.toString());
  }

  @Test
  void usesStableIdsPerScraper() {
    Set<String> prefixes = new HashSet<>();
    for (String line : take(new ListingGenerator(ListingGenerator.DEFAULT_SEED).lines(200))) {
      String id = line.substring(0, Math.max(0, line.indexOf('|'))).strip();
      if (!id.isEmpty()) {
        assertThat(id).matches("scraper-[a-f]-\\d{6}");
        prefixes.add(id.substring(0, 9));
      }
    }

    assertThat(prefixes).hasSize(6);
  }

  private static List<String> take(Iterator<String> lines) {
    List<String> taken = new ArrayList<>();
    lines.forEachRemaining(taken::add);
    return taken;
  }
}
