package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.pipeline.source.FileFormat;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LineSourceTest {
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private Pipeline<String, String> pipeline(String name) {
    return Pipeline.builder(name, String.class)
        .stage(CLEANING, (String s, StageContext context) -> s, o -> o.batchSize(64))
        .sink(sink::addAll)
        .alerts(alert -> {})
        .build();
  }

  private static List<Envelope<String>> readAll(Source<String> source) throws Exception {
    List<Envelope<String>> all = new ArrayList<>();
    try (source) {
      Envelope<String> next;
      while ((next = source.next()) != null) {
        all.add(next);
      }
    }
    return all;
  }

  @Test
  void invalidUtf8LineIsADeadLetterOfThatLineAloneAndReadingGoesOn(@TempDir Path dir)
      throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int i = 1; i <= 2_000; i++) {
      bytes.writeBytes(("line " + i + " caf\u00e9").getBytes(StandardCharsets.UTF_8));
      if (i == 1_000) {
        bytes.write(0xFF);
      }
      bytes.write('\n');
    }
    Path file = dir.resolve("in.txt");
    Files.write(file, bytes.toByteArray());
    Pipeline<String, String> pipeline = pipeline("bad-utf8");

    RunResult result = pipeline.run(Source.lines("f", file));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.read()).isEqualTo(2_000);
    assertThat(result.published()).isEqualTo(1_999);
    assertThat(result.deadLettered()).isEqualTo(1);
    assertThat(sink).extracting(Envelope::id).contains("f-999", "f-1001", "f-2000");
    assertThat(sink).extracting(Envelope::payload).contains("line 2000 caf\u00e9");
    DeadLetter dead =
        pipeline.deadLetters().find(DeadLetterQuery.all()).items().stream().findFirst().get();
    assertThat(dead.recordId()).isEqualTo("f-1000");
    assertThat(dead.stage()).isEqualTo(CLEANING.value());
    assertThat(dead.record().payload()).isEqualTo("line 1000 caf\u00e9\uFFFD");
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    line.writeBytes("line 1000 caf\u00e9".getBytes(StandardCharsets.UTF_8));
    line.write(0xFF);
    String raw = Base64.getEncoder().encodeToString(line.toByteArray());
    assertThat(dead.lastError().message())
        .contains("line 1000 of source 'f' is not valid UTF-8")
        .contains(raw);
  }

  @Test
  void lineOverTheLimitIsSkippedWithoutBeingReadIntoMemory() throws Exception {
    long huge = 1L << 30; // a 1 GiB line, never held: it is generated as it is read
    InputStream in = new SequenceInput(huge);

    List<Envelope<String>> lines = readAll(Source.lines("big", () -> in, 4_096));

    assertThat(lines).hasSize(2);
    Envelope<String> first = lines.get(0);
    assertThat(first.id()).isEqualTo("big-1");
    assertThat(first.payload()).hasSize(FileFormat.KEPT_BYTES).matches("x+");
    assertThat(first.metadata().get(Envelope.SOURCE_ERROR))
        .contains("line 1 of source 'big' has " + huge + " bytes, more than the limit of 4096");
    assertThat(lines.get(1).payload()).isEqualTo("after");
    assertThat(lines.get(1).metadata()).doesNotContainKey(Envelope.SOURCE_ERROR);
  }

  @Test
  void linesEndAtLineFeedCarriageReturnOrBoth() throws Exception {
    byte[] text = "a\nb\r\nc\rd\n\ne".getBytes(StandardCharsets.UTF_8);

    List<Envelope<String>> lines =
        readAll(Source.lines("s", () -> new ByteArrayInputStream(text), 16));

    assertThat(lines).extracting(Envelope::payload).containsExactly("a", "b", "c", "d", "", "e");
    assertThat(lines)
        .extracting(Envelope::id)
        .containsExactly("s-1", "s-2", "s-3", "s-4", "s-5", "s-6");
  }

  @Test
  void lineAtTheLimitIsReadWhole() throws Exception {
    byte[] text = "12345678\n123456789\n".getBytes(StandardCharsets.UTF_8);

    List<Envelope<String>> lines =
        readAll(Source.lines("s", () -> new ByteArrayInputStream(text), 8));

    assertThat(lines.get(0).payload()).isEqualTo("12345678");
    assertThat(lines.get(0).metadata()).doesNotContainKey(Envelope.SOURCE_ERROR);
    assertThat(lines.get(1).metadata().get(Envelope.SOURCE_ERROR)).contains("has 9 bytes");
  }

  @Test
  void sourceFailingMidReadEndsTheRunFailedNamingIt() {
    byte[] text = "a\nb\nc\n".getBytes(StandardCharsets.UTF_8);
    Pipeline<String, String> pipeline = pipeline("io-error");

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result =
          pipeline.run(
              Source.lines(
                  "disk",
                  () ->
                      new InputStream() {
                        private final InputStream data = new ByteArrayInputStream(text);

                        @Override
                        public int read() throws IOException {
                          int b = data.read();
                          if (b < 0) {
                            throw new IOException("device gone");
                          }
                          return b;
                        }
                      },
                  1_024));
      assertThat(log.text())
          .as("the source's failure is logged, with its stack trace")
          .contains("ERROR", "source 'disk' failed after yielding 3 records")
          .contains("java.io.IOException: device gone\n\tat ");
    }

    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(result.published()).isEqualTo(3);
    assertThat(result.sourceErrors())
        .singleElement()
        .asString()
        .contains("source 'disk' failed after yielding 3 records")
        .contains("device gone");
    assertThat(result.failure()).hasMessageContaining("did not read all of its input");
    assertThat(result.summary()).contains("failed").contains("source error: source 'disk'");
  }

  @Test
  void vanishedFileEndsTheRunFailed(@TempDir Path dir) {
    Pipeline<String, String> pipeline = pipeline("vanished");

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result = pipeline.run(Source.lines("gone", dir.resolve("gone.txt")));
      assertThat(log.text()).contains("ERROR", "source 'gone' failed", "NoSuchFileException");
    }

    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(result.sourceErrors()).singleElement().asString().contains("NoSuchFileException");
  }

  @Test
  void lineLimitOutOfRangeIsRefused(@TempDir Path dir) {
    Path file = dir.resolve("f");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Source.lines("s", file, 0))
        .withMessageContaining("maxLineBytes must be between 1 and " + Source.MAX_LINE_BYTES);
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Source.lines("s", file, Source.MAX_LINE_BYTES + 1));
  }

  /** {@code n} bytes of 'x', then "\nafter\n", generated as they are read. */
  private static final class SequenceInput extends InputStream {
    private final byte[] tail = "\nafter\n".getBytes(StandardCharsets.UTF_8);
    private final long n;
    private long at;

    SequenceInput(long n) {
      this.n = n;
    }

    @Override
    public int read() {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0];
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (at >= n + tail.length) {
        return -1;
      }
      int count = 0;
      while (count < len && at < n + tail.length) {
        if (at < n) {
          int run = (int) Math.min(len - count, n - at);
          Arrays.fill(b, off + count, off + count + run, (byte) 'x');
          count += run;
          at += run;
        } else {
          b[off + count++] = tail[(int) (at++ - n)];
        }
      }
      return count;
    }
  }
}
