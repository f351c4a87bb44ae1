package dev.pipeline.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvSourceTest {
  @TempDir Path dir;

  private Path write(String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  private Path write(String name, String text) throws IOException {
    return write(name, text.getBytes(StandardCharsets.UTF_8));
  }

  private static String error(Envelope<?> record) {
    return record.metadata().get(Envelope.SOURCE_ERROR);
  }

  @Test
  void quotedFieldsHoldSeparatorsDoubledQuotesAndLineBreaks() throws Exception {
    Path file =
        write(
            "q.csv",
            "plain,\"with, comma\",\"say \"\"hi\"\"\"\r\n"
                + "\"two\r\nlines\",\"\",last\n"
                + "\n"
                + "a\"b,,\"x\nyz\"\n"
                + "end,of,file");

    List<Envelope<List<String>>> rows =
        Reads.assertSeekRoundTrips(
            () -> FileSources.file("q", file, FileFormat.csv(CsvOptions.defaults())));

    assertThat(Reads.payloads(rows))
        .containsExactly(
            List.of("plain", "with, comma", "say \"hi\""),
            List.of("two\r\nlines", "", "last"),
            List.of("a\"b", "", "x\nyz"),
            List.of("end", "of", "file"));
    assertThat(Reads.ids(rows))
        .as("the line where each row starts")
        .containsExactly("q-1", "q-2", "q-5", "q-7");
    assertThat(rows)
        .allSatisfy(r -> assertThat(r.metadata()).doesNotContainKey(Envelope.SOURCE_ERROR));
  }

  @Test
  void headerMakesEachRowAMapInTheHeadersOrder() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
    bytes.writeBytes("id;name;note\r1;Ann;'a;b'\r2;Bob;''''\r".getBytes(StandardCharsets.UTF_8));
    Path file = write("h.csv", bytes.toByteArray());
    CsvOptions options = CsvOptions.builder().separator(';').quote('\'').build();

    List<Envelope<Map<String, String>>> rows =
        Reads.assertSeekRoundTrips(
            () -> FileSources.file("h", file, FileFormat.csvWithHeader(options)));

    assertThat(rows).hasSize(2);
    assertThat(rows.get(0).payload())
        .containsExactly(Map.entry("id", "1"), Map.entry("name", "Ann"), Map.entry("note", "a;b"));
    assertThat(rows.get(1).payload())
        .containsEntry("note", "'")
        .isEqualTo(Map.of("id", "2", "name", "Bob", "note", "'"));
    assertThat(Reads.ids(rows)).containsExactly("h-2", "h-3");
  }

  @Test
  void invalidUtf8InAQuotedFieldIsABadRowNamingItsLineAndByteAndReadingGoesOn() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes("id,text\n1,fine\n2,\"multi\nline ".getBytes(StandardCharsets.UTF_8));
    bytes.write(0xFE);
    bytes.writeBytes("\"\n3,after\n".getBytes(StandardCharsets.UTF_8));
    Path file = write("bad.csv", bytes.toByteArray());

    List<Envelope<Map<String, String>>> rows =
        Reads.assertSeekRoundTrips(
            () -> FileSources.file("b", file, FileFormat.csvWithHeader(CsvOptions.defaults())));

    assertThat(Reads.ids(rows)).containsExactly("b-2", "b-3", "b-5");
    Envelope<Map<String, String>> bad = rows.get(1);
    assertThat(bad.payload()).isEqualTo(Map.of("id", "2", "text", "multi\nline \uFFFD"));
    assertThat(error(bad))
        .startsWith(
            "row at line 3 of source 'b' has field 2 not valid UTF-8 (byte 12 of its 12 is not):"
                + " its payload has U+FFFD for the bad bytes; it starts at byte 15 (raw, Base64: ");
    assertThat(rows.get(2).payload()).isEqualTo(Map.of("id", "3", "text", "after"));
    assertThat(rows.get(2).metadata()).doesNotContainKey(Envelope.SOURCE_ERROR);
  }

  @Test
  void unclosedQuoteAtTheEndIsOneBadRowSayingWhereTheQuoteOpened() throws Exception {
    Path file = write("open.csv", "a,b\n1,\"never closed\n2,x\n");

    List<Envelope<List<String>>> rows =
        Reads.assertSeekRoundTrips(
            () -> FileSources.file("o", file, FileFormat.csv(CsvOptions.defaults())));

    assertThat(rows).hasSize(2);
    assertThat(rows.get(1).payload()).containsExactly("1", "never closed\n2,x\n");
    assertThat(error(rows.get(1)))
        .startsWith(
            "row at line 2 of source 'o' has a quote, opened at line 2 (byte 6), that is not"
                + " closed before the end of the input: the rest of the input, 20 bytes, is this"
                + " row; it starts at byte 4");
  }

  @Test
  void overLongRowIsSkippedMindingQuotesAndTheNextRowIsRead() throws Exception {
    String huge = "x,\"" + "y\n,".repeat(5_000) + "\"\n";
    Path file = write("long.csv", "first,row\n" + huge + "next,row\n");

    List<Envelope<List<String>>> rows =
        Reads.assertSeekRoundTrips(
            () ->
                FileSources.file(
                    "l", file, FileFormat.csv(CsvOptions.defaults()).maxRecordBytes(4_096)));

    assertThat(rows).hasSize(3);
    assertThat(error(rows.get(1)))
        .startsWith(
            "row at line 2 of source 'l' has 15004 bytes, more than the limit of 4096; it was not"
                + " read whole: its payload is the fields of its first 1024 bytes");
    assertThat(rows.get(1).payload().get(0)).isEqualTo("x");
    assertThat(rows.get(1).payload().get(1)).hasSize(1_024 - 1);
    assertThat(rows.get(2).payload()).containsExactly("next", "row");
    assertThat(rows.get(2).id()).isEqualTo("l-5003");
  }

  @Test
  void wrongColumnCountFieldTooLongTooManyFieldsAndTextAfterAQuoteAreBadRows() throws Exception {
    Path file = write("shape.csv", "a,b,c\n1,2\n1,2,3,4\n1,\"2\"x,3\n1,22222222222,3\n1,2,3\n");
    CsvOptions options = CsvOptions.builder().maxFieldBytes(8).maxColumns(3).build();

    List<Envelope<Map<String, String>>> rows =
        Reads.assertSeekRoundTrips(
            () -> FileSources.file("s", file, FileFormat.csvWithHeader(options)));

    assertThat(rows)
        .extracting(CsvSourceTest::error)
        .containsExactly(
            "row at line 2 of source 's' has 2 fields where the header (line 1) has 3; it starts at"
                + " byte 6 (raw, Base64: MSwy)",
            "row at line 3 of source 's' has more than 3 fields, the column limit; it starts at byte 10"
                + " (raw, Base64: MSwyLDMsNA==)",
            "row at line 4 of source 's' has 'x' after the closing quote of field 2: a quoted field"
                + " ends at a separator or at the end of the row; it starts at byte 18 (raw, Base64:"
                + " MSwiMiJ4LDM=)",
            "row at line 5 of source 's' has 11 bytes in field 2, more than the field limit of 8; it"
                + " starts at byte 27 (raw, Base64: MSwyMjIyMjIyMjIyMiwz)",
            null);
    assertThat(rows.get(0).payload()).isEqualTo(Map.of("a", "1", "b", "2"));
    assertThat(rows.get(1).payload()).isEqualTo(Map.of("a", "1", "b", "2", "c", "3"));
    assertThat(rows.get(2).payload()).isEqualTo(Map.of("a", "1", "b", "2x", "c", "3"));
  }

  @Test
  void rowsMapToTheUsersTypeAndARejectedRowKeepsTheMappersMessage() throws Exception {
    record Order(String id, int amount) {}
    Path file = write("orders.csv", "id,amount\nA,10\nB,ten\nC,30\n");
    FileFormat<Order> orders =
        FileFormat.csvWithHeader(CsvOptions.defaults())
            .map(
                row -> new Order(row.get("id"), Integer.parseInt(row.get("amount"))),
                row -> new Order(String.valueOf(row.get("id")), -1));

    List<Envelope<Order>> rows =
        Reads.assertSeekRoundTrips(() -> FileSources.file("o", file, orders));

    assertThat(Reads.payloads(rows))
        .containsExactly(new Order("A", 10), new Order("B", -1), new Order("C", 30));
    assertThat(error(rows.get(1)))
        .isEqualTo(
            "row at line 3 of source 'o' was rejected by its mapper:"
                + " java.lang.NumberFormatException: For input string: \"ten\"; it starts at"
                + " byte 15");
  }

  @Test
  void headerThatCannotBeReadFailsTheSource() throws Exception {
    Path twice = write("twice.csv", "a,b,a\n1,2,3\n");
    Path open = write("open.csv", "a,\"b\n");

    assertThatThrownBy(
            () ->
                Reads.all(
                    FileSources.file("t", twice, FileFormat.csvWithHeader(CsvOptions.defaults()))))
        .isInstanceOf(IOException.class)
        .hasMessage(
            "the header, row at line 1 of source 't', names column 'a' twice (fields 1 and 3): a"
                + " row cannot be a map unless its columns have distinct names");
    assertThatThrownBy(
            () ->
                Reads.all(
                    FileSources.file("u", open, FileFormat.csvWithHeader(CsvOptions.defaults()))))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("the header, row at line 1 of source 'u' has a quote");
  }

  @Test
  void emptyFileHasNoRowsWithOrWithoutAHeader() throws Exception {
    Path file = write("empty.csv", "\n\r\n");

    assertThat(
            Reads.assertSeekRoundTrips(
                () -> FileSources.file("e", file, FileFormat.csvWithHeader(CsvOptions.defaults()))))
        .isEmpty();
    assertThat(
            Reads.assertSeekRoundTrips(
                () -> FileSources.file("e", file, FileFormat.csv(CsvOptions.defaults()))))
        .isEmpty();
  }

  @Test
  void positionInsideTheHeaderOrOfAnotherKindIsRefused() throws Exception {
    Path file = write("h.csv", "name,value\nx,1\n");

    SeekableSource<Map<String, String>> source =
        FileSources.file("h", file, FileFormat.csvWithHeader(CsvOptions.defaults()));
    assertThatIllegalArgumentException()
        .isThrownBy(() -> source.seek("csv-header:3:1"))
        .withMessage(
            "the position's byte offset 3 is inside the header row of source 'h' (bytes 0 to"
                + " 11): the position was taken from other data");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> source.seek("csv:11:2"))
        .withMessageContaining("it is not a position of a csv-header source");
    source.close();
  }
}
