package dev.pipeline.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParagraphsSourceTest {
  @TempDir Path dir;

  private Path write(String text) throws Exception {
    Path file = dir.resolve("p.txt");
    Files.writeString(file, text, StandardCharsets.UTF_8);
    return file;
  }

  @Test
  void blankLinesSeparateRecordsOfSeveralLines() throws Exception {
    Path file = write("\n\nfirst a\r\nfirst b\r\n \t\r\n\r\nsecond\rstill second\r\rthird\n");

    List<Envelope<String>> paragraphs =
        Reads.assertSeekRoundTrips(() -> FileSources.file("p", file, FileFormat.paragraphs()));

    assertThat(Reads.payloads(paragraphs))
        .containsExactly("first a\nfirst b", "second\nstill second", "third");
    assertThat(Reads.ids(paragraphs)).containsExactly("p-3", "p-7", "p-10");
  }

  @Test
  void aSeparatorLineSeparatesRecordsThatMayHoldBlankLines() throws Exception {
    Path file = write("---\n\none\n\ntwo\n\n--- \n---\nthree\n---");

    List<Envelope<String>> records =
        Reads.assertSeekRoundTrips(() -> FileSources.file("s", file, FileFormat.paragraphs("---")));

    assertThat(Reads.payloads(records)).containsExactly("one\n\ntwo", "three");
    assertThat(Reads.ids(records)).containsExactly("s-3", "s-9");
  }

  @Test
  void overLongParagraphIsOneBadRecordAndTheNextIsRead() throws Exception {
    Path file = write("short\n\n" + "long line\n".repeat(1_000) + "\nafter\n");

    List<Envelope<String>> paragraphs =
        Reads.assertSeekRoundTrips(
            () -> FileSources.file("p", file, FileFormat.paragraphs().maxRecordBytes(2_000)));

    assertThat(paragraphs).hasSize(3);
    assertThat(paragraphs.get(1).metadata().get(Envelope.SOURCE_ERROR))
        .startsWith(
            "paragraph at line 3 of source 'p' has 9999 bytes, more than the limit of 2000; it"
                + " was not read whole: its payload is its first 1024 bytes; it starts at byte 7");
    assertThat(paragraphs.get(1).payload()).hasSize(1_024).startsWith("long line\nlong line");
    assertThat(paragraphs.get(2).payload()).isEqualTo("after");
    assertThat(paragraphs.get(2).id()).isEqualTo("p-1004");
  }

  @Test
  void emptyAndBlankFilesHaveNoRecords() throws Exception {
    Path file = write(" \n\n\t\n");

    assertThat(
            Reads.assertSeekRoundTrips(() -> FileSources.file("p", file, FileFormat.paragraphs())))
        .isEmpty();
  }
}
