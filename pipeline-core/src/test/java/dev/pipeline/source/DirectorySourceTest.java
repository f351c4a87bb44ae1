package dev.pipeline.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.groups.Tuple.tuple;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectorySourceTest {
  @TempDir Path root;

  private static final FileFormat<Map<String, String>> ROWS =
      FileFormat.csvWithHeader(CsvOptions.defaults());

  private Path write(Path dir, String name, String text) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, text, StandardCharsets.UTF_8);
    return file;
  }

  private Path inbox() throws Exception {
    return Files.createDirectories(root.resolve("inbox"));
  }

  private static String error(Envelope<?> record) {
    return record.metadata().get(Envelope.SOURCE_ERROR);
  }

  @Test
  void readsEveryMatchingRegularFileInNameOrderNeverFollowingLinks() throws Exception {
    Path inbox = inbox();
    write(inbox, "b.csv", "n\n3\n4\n");
    write(inbox, "a.csv", "n\n1\n2\n");
    write(inbox, "notes.txt", "n\nnot csv\n");
    Files.createDirectory(inbox.resolve("c.csv")); // a directory: not read
    Path outside = write(root, "secret.csv", "n\nsecret\n");
    Files.createSymbolicLink(inbox.resolve("d.csv"), outside);
    Files.createSymbolicLink(inbox.resolve("e.csv"), inbox.resolve("a.csv"));

    List<Envelope<Map<String, String>>> rows =
        Reads.all(FileSources.directory("inbox", inbox, "*.csv", ROWS));

    assertThat(rows)
        .extracting(Envelope::id, r -> r.payload().get("n"), Envelope::sourceId)
        .containsExactly(
            tuple("inbox/a.csv-2", "1", "inbox/a.csv"),
            tuple("inbox/a.csv-3", "2", "inbox/a.csv"),
            tuple("inbox/b.csv-2", "3", "inbox/b.csv"),
            tuple("inbox/b.csv-3", "4", "inbox/b.csv"));
  }

  @Test
  void seekRoundTripsAcrossFileBoundariesEmptyFilesAndBadRows() throws Exception {
    Path inbox = inbox();
    write(inbox, "1.csv", "n,m\r\n1,a\r\n2,b\r\n");
    write(inbox, "2.csv", "");
    write(inbox, "3.csv", "n,m\n3\n4,d\n");
    write(inbox, "4.csv", "n,m\n5,e");

    List<Envelope<Map<String, String>>> rows =
        Reads.assertSeekRoundTrips(() -> FileSources.directory("in", inbox, "*.csv", ROWS));

    assertThat(Reads.ids(rows))
        .containsExactly("in/1.csv-2", "in/1.csv-3", "in/3.csv-2", "in/3.csv-3", "in/4.csv-2");
    assertThat(error(rows.get(2))).startsWith("row at line 2 of source 'in/3.csv' has 1 fields");
  }

  @Test
  void aPositionAtTheEndReadsOnlyFilesAddedAfterIt() throws Exception {
    Path inbox = inbox();
    write(inbox, "2024-01.txt", "a\n");
    SeekableSource<String> first = FileSources.directory("d", inbox, "*.txt", FileFormat.lines());
    assertThat(Reads.payloads(Reads.all(first))).containsExactly("a");
    String end = first.position();
    write(inbox, "2024-02.txt", "b\n");
    write(inbox, "2023-12.txt", "too old\n");

    SeekableSource<String> second = FileSources.directory("d", inbox, "*.txt", FileFormat.lines());
    second.seek(end);

    assertThat(end).isEqualTo("dir:after:2024-01.txt");
    assertThat(Reads.all(second)).extracting(Envelope::id).containsExactly("d/2024-02.txt-1");
  }

  @Test
  void aFileDeletedBetweenListingAndOpeningIsOneUnreadableRecordAndReadingGoesOn()
      throws Exception {
    Path inbox = inbox();
    write(inbox, "a.txt", "a1\na2\n");
    Path b = write(inbox, "b.txt", "b1\n");
    write(inbox, "c.txt", "c1\n");
    List<Envelope<String>> lines = new ArrayList<>();

    try (SeekableSource<String> source =
        FileSources.directory("d", inbox, "*.txt", FileFormat.lines())) {
      lines.add(source.next()); // the directory is listed now
      Files.delete(b);
      lines.addAll(Reads.all(source));
    }

    assertThat(lines)
        .extracting(Envelope::id, Envelope::payload)
        .containsExactly(
            tuple("d/a.txt-1", "a1"),
            tuple("d/a.txt-2", "a2"),
            tuple("d/b.txt-0", "b.txt"),
            tuple("d/c.txt-1", "c1"));
    assertThat(error(lines.get(2)))
        .isEqualTo(
            "file 'b.txt' of directory source 'd' is gone: it was listed, then deleted or moved"
                + " before it was opened; reading went on with the next file");
  }

  @Test
  void aSeekIntoAFileThatIsGoneReportsItAndGoesOn() throws Exception {
    Path inbox = inbox();
    write(inbox, "a.txt", "a1\na2\n");
    write(inbox, "b.txt", "b1\n");
    String position;
    try (SeekableSource<String> source =
        FileSources.directory("d", inbox, "*.txt", FileFormat.lines())) {
      source.next();
      position = source.position();
    }
    Files.delete(inbox.resolve("a.txt"));
    SeekableSource<String> resumed = FileSources.directory("d", inbox, "*.txt", FileFormat.lines());

    resumed.seek(position);

    assertThat(position).isEqualTo("dir:in:a.txt:lines:3:2");
    assertThat(Reads.all(resumed))
        .extracting(Envelope::id)
        .containsExactly("d/a.txt-0", "d/b.txt-1");
  }

  @Test
  void aFileWhoseHeaderCannotBeReadIsReportedAndTheNextFileIsRead() throws Exception {
    Path inbox = inbox();
    write(inbox, "a.csv", "n,n\n1,2\n");
    write(inbox, "b.csv", "n\n3\n");
    FileFormat<String> firsts = ROWS.map(row -> row.get("n"), row -> "?");

    List<Envelope<String>> rows =
        Reads.assertSeekRoundTrips(() -> FileSources.directory("d", inbox, "*.csv", firsts));

    assertThat(rows)
        .extracting(Envelope::id, Envelope::payload)
        .containsExactly(tuple("d/a.csv-0", "?"), tuple("d/b.csv-2", "3"));
    assertThat(error(rows.get(0)))
        .startsWith(
            "file 'a.csv' of directory source 'd' could not be read:"
                + " dev.pipeline.source.BadHeaderException: the header, row at line 1 of source"
                + " 'd/a.csv', names column 'n' twice");
  }

  @Test
  void idsStayUniqueAcrossFilesAndOddNamesRoundTripThroughPositions() throws Exception {
    Path inbox = inbox();
    String[] names = {
      "a", "a-1", "we:ird%20name", "line\nbreak", "tab\there", "caf\u00e9 \u202e", "x".repeat(250)
    };
    for (String name : names) {
      write(inbox, name, "1\n2\n");
    }

    List<Envelope<String>> lines =
        Reads.assertSeekRoundTrips(
            () -> FileSources.directory("d", inbox, "*", FileFormat.lines()));

    assertThat(lines).hasSize(2 * names.length);
    assertThat(Reads.ids(lines))
        .doesNotHaveDuplicates()
        .contains("d/a-1", "d/a-1-1", "d/a-2", "d/a-1-2");
    assertThat(Reads.ids(lines))
        .filteredOn(id -> id.startsWith("d/xxx"))
        .allSatisfy(id -> assertThat(id).matches("d/x{150}~[0-9a-f]{16}-[12]"));
  }

  @Test
  void moreFilesThanOneListingHoldsAreReadInOrder() throws Exception {
    Path inbox = inbox();
    int files = 2 * DirectorySource.LISTED + 5;
    for (int i = 0; i < files; i++) {
      write(inbox, String.format("%05d.txt", i), i + "\n");
    }

    List<Envelope<String>> lines =
        Reads.all(FileSources.directory("d", inbox, "*.txt", FileFormat.lines()));

    assertThat(lines).hasSize(files);
    assertThat(lines.get(files - 1).payload()).isEqualTo(String.valueOf(files - 1));
    for (int i = 0; i < files; i++) {
      assertThat(lines.get(i).payload()).isEqualTo(String.valueOf(i));
    }
  }

  @Test
  void positionsThatAreNotThisSourcesAreRefusedWithBoundedMessages() throws Exception {
    Path inbox = inbox();
    write(inbox, "a.txt", "a\n");
    SeekableSource<String> source = FileSources.directory("d", inbox, "*.txt", FileFormat.lines());

    assertThatIllegalArgumentException()
        .isThrownBy(() -> source.seek("lines:0:1"))
        .withMessage(
            "expected a position of directory source 'd' ('dir:', 'dir:after:<file name>' or"
                + " 'dir:in:<file name>:<lines position>'), got 'lines:0:1': it is not a position of"
                + " a directory source");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> source.seek("dir:in:a.txt:csv:0:1"))
        .withMessageContaining("its position within the file is wrong");
    for (String escape :
        List.of(
            "dir:in:..%2F..%2Fsecret.txt:lines:0:1",
            "dir:after:..", "dir:after:%00.txt", "dir:after:")) {
      assertThatIllegalArgumentException()
          .as(escape)
          .isThrownBy(() -> source.seek(escape))
          .withMessageContaining("its file name is not the name of a file in the directory");
    }
    assertThatIllegalArgumentException()
        .isThrownBy(() -> source.seek("dir:after:a.csv"))
        .withMessageContaining("does not match the source's glob");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> source.seek("dir:after:%ZZ"))
        .withMessageContaining("its file name is not escaped right");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> source.seek("dir:in:" + "\u0007".repeat(50_000)))
        .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(1_000).doesNotContain("\u0007"));

    source.next();
    assertThatIllegalStateException().isThrownBy(() -> source.seek("dir:"));
    source.close();
  }

  @Test
  void globsThatCannotMatchANameAreRefused() throws Exception {
    Path inbox = inbox();
    assertThatIllegalArgumentException()
        .isThrownBy(() -> FileSources.directory("d", inbox, "sub/*.csv", ROWS))
        .withMessageContaining("without '/'");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> FileSources.directory("d", inbox, "*.{csv", ROWS))
        .withMessageStartingWith("glob '*.{csv' is not a glob: ");
  }
}
