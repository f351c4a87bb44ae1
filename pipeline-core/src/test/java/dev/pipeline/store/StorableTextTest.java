package dev.pipeline.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class StorableTextTest {
  private static final char[] ALPHABET = {'\\', 'u', '0', 'a', 'F', '\0', '\uD800', '\uDC00', 'é'};

  @Test
  void escapingIsReversibleAndLeavesNothingUnstorable() {
    Random random = new Random(42);
    for (int n = 0; n < 20_000; n++) {
      StringBuilder s = new StringBuilder();
      int length = random.nextInt(12);
      for (int i = 0; i < length; i++) {
        s.append(ALPHABET[random.nextInt(ALPHABET.length)]);
      }
      String text = s.toString();
      String escaped = StorableText.escape(text);
      assertThat(StorableText.unescape(escaped)).as("round trip of %s", escaped).isEqualTo(text);
      assertThat(escaped.indexOf('\0')).as(escaped).isEqualTo(-1);
      assertThat(escaped.isEmpty() || StorableText.idProblem(escaped) == null)
          .as("no unpaired surrogate in %s", escaped)
          .isTrue();
    }
  }

  @Test
  void ordinaryTextIsWrittenAsItIs() {
    for (String text :
        new String[] {"", "plain", "C:\\data\\x.txt", "\\\\server\\share", "emoji \uD83D\uDE00"}) {
      assertThat(StorableText.escape(text)).isSameAs(text);
      assertThat(StorableText.unescape(text)).isEqualTo(text);
    }
  }

  @Test
  void nulAndUnpairedSurrogatesBecomeUnicodeEscapes() {
    assertThat(StorableText.escape("a\0b")).isEqualTo("a\\u0000b");
    assertThat(StorableText.escape("x\uD800")).isEqualTo("x\\ud800");
    assertThat(StorableText.escape("\\u0000"))
        .as("a literal escape stays one")
        .isEqualTo("\\\\u0000");
    assertThat(StorableText.unescape("\\\\u0000")).isEqualTo("\\u0000");
  }

  @Test
  void aCutNeverSplitsAnEscapeOrAPair() {
    assertThat(StorableText.escape("ab\0", 4)).isEqualTo("ab");
    assertThat(StorableText.escape("ab\uD83D\uDE00", 3)).isEqualTo("ab");
    assertThat(StorableText.escape("abcdef", 3)).isEqualTo("abc");
  }

  @Test
  void idsMustBeNonEmptyShortAndFreeOfNulAndUnpairedSurrogates() {
    assertThat(StorableText.idProblem("r-1")).isNull();
    assertThat(StorableText.idProblem("r-\uD83D\uDE00")).isNull();
    assertThat(StorableText.idProblem("x".repeat(1000))).isNull();
    assertThat(StorableText.idProblem("")).isEqualTo("is empty");
    assertThat(StorableText.idProblem("r\0")).isEqualTo("contains NUL (U+0000) at index 1");
    assertThat(StorableText.idProblem("r\uDC00"))
        .isEqualTo("contains an unpaired surrogate (U+DC00) at index 1");
    assertThat(StorableText.idProblem("x".repeat(1001)))
        .isEqualTo("is 1001 characters long, more than 1000");
  }

  @Test
  void aStorableIdIsDerivedStablyFromAnUnfitOne() {
    assertThat(StorableText.storableId("r-1")).isEqualTo("r-1");
    String derived = StorableText.storableId("bad\0id");
    assertThat(derived).startsWith("bad\\u0000id#").hasSize("bad\\u0000id#".length() + 32);
    assertThat(StorableText.storableId("bad\0id")).isEqualTo(derived);
    assertThat(StorableText.storableId("bad\uD800id")).isNotEqualTo(derived);
    for (String unfit : new String[] {"", "\0".repeat(5000), "y".repeat(5000), "\uD800"}) {
      String id = StorableText.storableId(unfit);
      assertThat(StorableText.idProblem(id)).as(id).isNull();
    }
  }
}
