package dev.pipeline.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import dev.pipeline.Source;
import java.io.ByteArrayOutputStream;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinesSourceTest {
  @TempDir Path dir;

  private Path write(String name, byte[] bytes) throws Exception {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  private Path write(String name, String text) throws Exception {
    return write(name, text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void readsAFileWholeWithIdsByLineNumber() throws Exception {
    Path file = write("in.txt", "alpha\nbeta\n\ngamma caf\u00e9\n");

    List<Envelope<String>> lines = Reads.all(Source.lines("f", file));

    assertThat(Reads.payloads(lines)).containsExactly("alpha", "beta", "", "gamma caf\u00e9");
    assertThat(Reads.ids(lines)).containsExactly("f-1", "f-2", "f-3", "f-4");
    assertThat(lines).allSatisfy(l -> assertThat(l.sourceId()).isEqualTo("f"));
  }

  @Test
  void sourceLinesOfAFileIsSeekableAndResumesWhereItStood() throws Exception {
    Path file = write("in.txt", "a\nbb\r\nccc\rdddd\r\n\r\neeeee");

    SeekableSource<String> lines = Source.lines("f", file);

    List<Envelope<String>> whole = Reads.assertSeekRoundTrips(() -> Source.lines("f", file));
    assertThat(Reads.payloads(whole)).containsExactly("a", "bb", "ccc", "dddd", "", "eeeee");
    assertThat(lines.position()).isEqualTo("lines:0:1");
    lines.next();
    lines.next();
    assertThat(lines.position()).as("after a CR LF, past both").isEqualTo("lines:6:3");
    lines.close();
  }

  @Test
  void seekGoesOnWithTheLineNumbersOfTheFile() throws Exception {
    Path file = write("in.txt", "one\ntwo\nthree\n");
    SeekableSource<String> source = Source.lines("f", file);

    source.seek("lines:4:2");

    assertThat(Reads.all(source))
        .extracting(Envelope::id, Envelope::payload)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("f-2", "two"),
            org.assertj.core.groups.Tuple.tuple("f-3", "three"));
  }

  @Test
  void byteOrderMarkIsSkippedAndAPositionAtTheStartKeepsSkippingIt() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
    bytes.writeBytes("first\nsecond\n".getBytes(StandardCharsets.UTF_8));
    Path file = write("bom.txt", bytes.toByteArray());

    List<Envelope<String>> whole =
        Reads.assertSeekRoundTrips(() -> FileSources.file("b", file, FileFormat.lines()));

    assertThat(Reads.payloads(whole)).containsExactly("first", "second");
  }

  @Test
  void emptyFileHasNoRecordsAndItsStartIsItsEnd() throws Exception {
    Path file = write("empty.txt", new byte[0]);

    assertThat(Reads.assertSeekRoundTrips(() -> Source.lines("e", file))).isEmpty();
  }

  @Test
  void invalidUtf8IsAnUnreadableRecordWithLineAndByteOffsetAndReadingGoesOn() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes("good\n".getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes("ba".getBytes(StandardCharsets.UTF_8));
    bytes.write(0xC3); // a lead byte without its continuation
    bytes.writeBytes("d\nafter\n".getBytes(StandardCharsets.UTF_8));
    Path file = write("bad.txt", bytes.toByteArray());

    List<Envelope<String>> lines =
        Reads.assertSeekRoundTrips(() -> FileSources.file("s", file, FileFormat.lines()));

    assertThat(Reads.payloads(lines)).containsExactly("good", "ba\uFFFDd", "after");
    assertThat(lines.get(1).metadata().get(Envelope.SOURCE_ERROR))
        .startsWith("line 2 of source 's' is not valid UTF-8 (byte 3 of its 4 is not)")
        .contains("it starts at byte 5");
    assertThat(lines.get(2).metadata()).doesNotContainKey(Envelope.SOURCE_ERROR);
  }

  @Test
  void replacePolicyReadsBadBytesAsReplacementCharacters() throws Exception {
    Path file = write("bad.txt", new byte[] {'a', (byte) 0xFF, 'b', '\n'});

    List<Envelope<String>> lines =
        Reads.all(
            FileSources.file(
                "s", file, FileFormat.lines().onMalformedInput(CodingErrorAction.REPLACE)));

    assertThat(lines)
        .singleElement()
        .satisfies(
            l -> {
              assertThat(l.payload()).isEqualTo("a\uFFFDb");
              assertThat(l.metadata()).doesNotContainKey(Envelope.SOURCE_ERROR);
            });
  }

  @Test
  void singleByteCharsetIsDecodedAsItsOwn() throws Exception {
    Path file = write("latin.txt", new byte[] {'c', 'a', 'f', (byte) 0xE9, '\n', (byte) 0x80});

    List<Envelope<String>> lines =
        Reads.all(
            FileSources.file(
                "s",
                file,
                FileFormat.lines().charset(java.nio.charset.Charset.forName("windows-1252"))));

    assertThat(Reads.payloads(lines)).containsExactly("caf\u00e9", "\u20ac");
  }

  @Test
  void overLongLineKeepsItsFirstBytesWithoutCuttingACharacter() throws Exception {
    String line = "\u20ac".repeat(1_000); // three bytes each: 1,024 would cut one
    Path file = write("long.txt", line + "\nshort\n");

    List<Envelope<String>> lines =
        Reads.assertSeekRoundTrips(
            () -> FileSources.file("s", file, FileFormat.lines().maxRecordBytes(1_500)));

    assertThat(lines.get(0).payload()).isEqualTo("\u20ac".repeat(341));
    assertThat(lines.get(0).metadata().get(Envelope.SOURCE_ERROR))
        .startsWith(
            "line 1 of source 's' has 3000 bytes, more than the limit of 1500; it was not read"
                + " whole: its payload is its first 1023 bytes");
    assertThat(lines.get(1).payload()).isEqualTo("short");
  }

  @Test
  void positionOfAnotherKindOrGarbageIsRefusedWithABoundedMessage() throws Exception {
    Path file = write("in.txt", "a\nb\n");
    String garbage = "\u001b[31m" + "x".repeat(100_000);

    try (SeekableSource<String> source = Source.lines("f", file)) {
      assertThatIllegalArgumentException()
          .isThrownBy(() -> source.seek("csv:2:2"))
          .withMessage(
              "expected a position of a lines source ('lines:<byte offset>:<line number>'), got"
                  + " 'csv:2:2': it is not a position of a lines source");
      assertThatIllegalArgumentException()
          .isThrownBy(() -> source.seek(garbage))
          .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(400).doesNotContain("\u001b"));
      for (String bad :
          List.of(
              "lines:",
              "lines:1",
              "lines:-1:1",
              "lines:1:0",
              "lines:0:5",
              "lines:1:x",
              "lines:99999999999999999999:1")) {
        assertThatIllegalArgumentException().as(bad).isThrownBy(() -> source.seek(bad));
      }
      assertThatIllegalArgumentException()
          .isThrownBy(() -> source.seek("lines:400:3"))
          .withMessageContaining("past the end of file");
    }
  }

  @Test
  void seekAfterNextIsRefused() throws Exception {
    Path file = write("in.txt", "a\nb\n");

    try (SeekableSource<String> source = Source.lines("f", file)) {
      source.next();
      assertThatIllegalStateException()
          .isThrownBy(() -> source.seek("lines:0:1"))
          .withMessageContaining("source 'f' cannot seek: it read records already");
    }
  }

  @Test
  void seekToAFileThatIsGoneThrowsAtTheSeek() {
    SeekableSource<String> source = Source.lines("f", dir.resolve("gone.txt"));

    assertThatThrownBy(() -> source.seek("lines:0:1")).isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void streamSourceIsNotSeekable() {
    Source<String> stream =
        Source.lines("s", () -> new java.io.ByteArrayInputStream(new byte[0]), 16);

    assertThat(stream).isNotInstanceOf(SeekableSource.class);
  }
}
