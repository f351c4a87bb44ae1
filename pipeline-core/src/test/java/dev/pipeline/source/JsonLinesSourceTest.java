package dev.pipeline.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import dev.pipeline.Envelope;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesSourceTest {
  @TempDir Path dir;

  /** What a user's JSON library would make of a line. */
  record Event(int n, String name) {
    private static final Pattern SHAPE = Pattern.compile("\\{\"n\":(\\d+),\"name\":\"([^\"]*)\"}");

    static Event parse(String line) throws java.io.IOException {
      Matcher m = SHAPE.matcher(line.strip());
      if (!m.matches()) {
        throw new java.io.IOException("Unexpected character at column 1: " + line);
      }
      return new Event(Integer.parseInt(m.group(1)), m.group(2));
    }

    static Event unparsed(String line) {
      return new Event(-1, line);
    }
  }

  private static final FileFormat<Event> EVENTS =
      FileFormat.jsonLines(Event::parse, Event::unparsed);

  private Path write(byte[] bytes) throws Exception {
    Path file = dir.resolve("events.jsonl");
    Files.write(file, bytes);
    return file;
  }

  @Test
  void readsEachLineThroughTheParserSkippingBlankLines() throws Exception {
    Path file =
        write(
            "{\"n\":1,\"name\":\"a\"}\r\n\r\n  \t\n{\"n\":2,\"name\":\"\u00e9\"}\n"
                .getBytes(StandardCharsets.UTF_8));

    List<Envelope<Event>> events =
        Reads.assertSeekRoundTrips(() -> FileSources.file("ev", file, EVENTS));

    assertThat(Reads.payloads(events)).containsExactly(new Event(1, "a"), new Event(2, "\u00e9"));
    assertThat(Reads.ids(events)).containsExactly("ev-1", "ev-4");
  }

  @Test
  void aLineTheParserRejectsKeepsItsBoundedMessageAndPositionAndReadingGoesOn() throws Exception {
    String hostile = "{\"n\":" + "[".repeat(20_000) + "\u001b]0;title\u0007";
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes("{\"n\":1,\"name\":\"a\"}\n".getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes((hostile + "\n").getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes("{\"n\":3,\"name\":\"c\"}\n".getBytes(StandardCharsets.UTF_8));
    Path file = write(bytes.toByteArray());

    List<Envelope<Event>> events =
        Reads.assertSeekRoundTrips(() -> FileSources.file("ev", file, EVENTS));

    assertThat(Reads.payloads(events))
        .containsExactly(new Event(1, "a"), new Event(-1, hostile), new Event(3, "c"));
    String error = events.get(1).metadata().get(Envelope.SOURCE_ERROR);
    assertThat(error)
        .startsWith(
            "line 2 of source 'ev' was rejected by its parser: java.io.IOException: Unexpected"
                + " character at column 1: {\"n\":[[[")
        .endsWith(
            String.format(
                java.util.Locale.ROOT,
                "[cut %,d chars]; it starts at byte 19",
                "Unexpected character at column 1: ".length()
                    + hostile.length()
                    - MappedReader.MESSAGE_CHARS))
        .hasSizeLessThan(MappedReader.MESSAGE_CHARS + 200)
        .doesNotContain("\u001b");
  }

  @Test
  void aParserThatReturnsNullOrOverflowsTheStackRejectsOnlyThatLine() throws Exception {
    Path file = write("null\ndeep\n{\"n\":3,\"name\":\"c\"}\n".getBytes(StandardCharsets.UTF_8));
    FileFormat<Event> format =
        FileFormat.jsonLines(
            line ->
                switch (line) {
                  case "null" -> null;
                  case "deep" -> throw new StackOverflowError();
                  default -> Event.parse(line);
                },
            Event::unparsed);

    List<Envelope<Event>> events = Reads.all(FileSources.file("ev", file, format));

    assertThat(events)
        .extracting(e -> e.metadata().get(Envelope.SOURCE_ERROR))
        .containsExactly(
            "line 1 of source 'ev' was rejected by its parser: it returned null; it starts at"
                + " byte 0",
            "line 2 of source 'ev' was rejected by its parser: java.lang.StackOverflowError; it"
                + " starts at byte 5",
            null);
  }

  @Test
  void invalidUtf8LineIsNotGivenToTheParser() throws Exception {
    Path file = write(new byte[] {'{', (byte) 0xC0, '}', '\n'});
    FileFormat<Event> format =
        FileFormat.jsonLines(
            line -> {
              throw new AssertionError("the parser got a line that is not UTF-8");
            },
            Event::unparsed);

    List<Envelope<Event>> events = Reads.all(FileSources.file("ev", file, format));

    assertThat(events)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.payload()).isEqualTo(new Event(-1, "{\uFFFD}"));
              assertThat(e.metadata().get(Envelope.SOURCE_ERROR))
                  .startsWith("line 1 of source 'ev' is not valid UTF-8 (byte 2 of its 3 is not)");
            });
  }

  @Test
  void anUnreadableFunctionThatReturnsNullFailsTheSourceNamingIt() throws Exception {
    Path file = write("nope\n".getBytes(StandardCharsets.UTF_8));
    FileFormat<Event> format = FileFormat.jsonLines(Event::parse, line -> null);

    assertThatNullPointerException()
        .isThrownBy(() -> Reads.all(FileSources.file("ev", file, format)))
        .withMessage(
            "the unreadable function of source 'ev' returned null for record 'ev-1': it must make"
                + " a payload of every record it is given");
  }
}
