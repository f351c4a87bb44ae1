package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LineageRecorderTest {
  /** FNV-1a over each UTF-16 character's low byte, then its high byte, as the events document. */
  private static long fnv(String text) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      h = (h ^ (c & 0xff)) * 0x100000001b3L;
      h = (h ^ (c >>> 8)) * 0x100000001b3L;
    }
    return h;
  }

  @Test
  void theHashIsFnv1aOfEachCharactersLowThenHighByteForEveryKindOfCharacter() {
    assertThat(LineageRecorder.hash("")).isEqualTo(0xcbf29ce484222325L);
    for (String text :
        new String[] {
          "a", "\u0000", "\u00ff", "caf\u00e9", "\u20ac 12", "\ud83d\ude00", "\ud800x"
        }) {
      assertThat(LineageRecorder.hash(text)).as(text).isEqualTo(fnv(text));
    }
    Random random = new Random(42);
    for (int n = 0; n < 2_000; n++) {
      char[] chars = new char[random.nextInt(300)];
      for (int i = 0; i < chars.length; i++) {
        // mostly Latin-1, as most text is, with characters above it mixed in
        chars[i] =
            (char) (random.nextInt(4) == 0 ? random.nextInt(0x10000) : random.nextInt(0x100));
      }
      String text = new String(chars);
      assertThat(LineageRecorder.hash(text)).isEqualTo(fnv(text));
    }
  }
}
