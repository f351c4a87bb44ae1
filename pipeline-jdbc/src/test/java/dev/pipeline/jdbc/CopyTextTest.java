package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.StorableText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The bytes {@link CopyText} writes, as PostgreSQL's COPY text format reads them. */
class CopyTextTest {
  /** A buffer smaller than what is written, so every test also grows it. */
  private final CopyText out = new CopyText(new byte[4]);

  private String written() throws IOException {
    return new String(out.stream().readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void textIsEscapedAndEncodedAsUtf8() throws IOException {
    out.text("a\\b\tc\nd\re \u00E9\u20AC\uD83D\uDE00 \\N");
    out.tab();
    out.text(new StringBuilder("built"));
    out.tab();
    out.nullValue();
    out.newline();

    assertThat(written())
        .isEqualTo("a\\\\b\\tc\\nd\\re \u00E9\u20AC\uD83D\uDE00 \\\\N\tbuilt\t\\N\n");
  }

  @Test
  void textWithANulOrALoneSurrogateIsWrittenInItsStorableForm() throws IOException {
    out.text("before");
    out.tab();
    String nul = "tab\tthen nul\u0000";
    out.text(nul);
    out.tab();
    String lone = "\u00E9 lone \uDC00";
    out.text(lone);

    assertThat(written())
        .isEqualTo(
            "before\t"
                + copyEscaped(StorableText.escape(nul))
                + "\t"
                + copyEscaped(StorableText.escape(lone)));
  }

  /** COPY's escape of text without newlines or carriage returns. */
  private static String copyEscaped(String text) {
    return text.replace("\\", "\\\\").replace("\t", "\\t");
  }

  @Test
  void partsAreEscapedAsTheyComeAndAPartThatCannotBeStoredRewindsTheValue() throws IOException {
    assertThat(
            out.parts(
                o -> o.append("a\\b", 0, 3).append('\t').append(-7L).append('\n').append('\u00E9')))
        .isTrue();
    out.tab();
    int before = out.size();
    assertThat(out.parts(o -> o.append("kept", 0, 4).append('\u0000'))).isFalse();
    assertThat(out.size()).as("nothing of the refused value stays").isEqualTo(before);

    assertThat(written()).isEqualTo("a\\\\b\\t-7\\n\u00E9\t");
  }

  @Test
  void numbersAndTimesAreWrittenAsPostgresReadsThem() throws IOException {
    out.number(0);
    out.tab();
    out.number(-42);
    out.tab();
    out.number(Long.MIN_VALUE);
    out.tab();
    out.number(Long.MAX_VALUE);
    out.tab();
    for (long n : new long[] {7, 10, 99, 100, 101, 12_345, 1_000_000_000_000_000_000L}) {
      out.number(n);
      out.tab();
    }
    out.time(Instant.parse("2026-12-06T10:00:00.123456789Z"));
    out.tab();
    out.time(Instant.parse("1969-12-31T23:59:59.5Z"));
    out.tab();
    out.time(Instant.parse("+12026-01-01T00:00:00Z"));

    assertThat(written())
        .isEqualTo(
            "0\t-42\t-9223372036854775808\t9223372036854775807"
                + "\t7\t10\t99\t100\t101\t12345\t1000000000000000000"
                + "\t2026-12-06 10:00:00.123456+00\t1969-12-31 23:59:59.500000+00"
                + "\t+12026-01-01T00:00:00Z");
  }

  @Test
  void hashesAreWrittenAsUnsignedHexadecimalInAPartsValue() throws IOException {
    long[] values = {0, 1, 15, 16, 255, 0x1234_5678_9abcL, -1, Long.MIN_VALUE, Long.MAX_VALUE};
    StringBuilder expected = new StringBuilder();
    assertThat(
            out.parts(
                o -> {
                  for (long v : values) {
                    o.hex(v).append('|');
                  }
                }))
        .isTrue();
    for (long v : values) {
      expected.append(Long.toHexString(v)).append('|');
    }
    SplittableRandom random = new SplittableRandom(17);
    for (int i = 0; i < 1_000; i++) {
      long v = random.nextLong() >>> random.nextInt(64);
      out.hex(v);
      out.tab();
      expected.append(Long.toHexString(v)).append('\t');
    }

    assertThat(written()).isEqualTo(expected.toString());
  }
}
