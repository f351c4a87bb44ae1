package dev.pipeline.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.List;
import org.junit.jupiter.api.Test;

class FileNamesTest {

  @Test
  void namesRoundTripThroughPositionsPrintable() {
    for (String name :
        List.of(
            "plain.csv",
            "a:b%c",
            "new\nline\r\u0000",
            "caf\u00e9 \u4e2d\u6587.txt",
            "\u202eevil\u2028",
            "emoji \ud83d\ude00",
            "lone \ud800 surrogate",
            "nbsp\u00a0",
            "%u0041")) {
      String written = FileNames.forPosition(name);
      assertThat(written).as(name).doesNotContain(":").matches("[^\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]*");
      assertThat(FileNames.fromPosition(written)).as(name).isEqualTo(name);
    }
    assertThat(FileNames.forPosition("caf\u00e9 \u4e2d.txt")).isEqualTo("caf\u00e9 \u4e2d.txt");
    assertThat(FileNames.forPosition("a:b%c\n")).isEqualTo("a%3Ab%25c%0A");
  }

  @Test
  void badEscapesAreRefused() {
    for (String bad : List.of("%", "%4", "%GG", "%C3", "%u12", "%u0041", "%FF")) {
      assertThatIllegalArgumentException().as(bad).isThrownBy(() -> FileNames.fromPosition(bad));
    }
  }

  @Test
  void longOrUnstorableNamesAreCutInIdsWithAHashKeepingThemApart() {
    String a = "x".repeat(300) + "a";
    String b = "x".repeat(300) + "b";

    assertThat(FileNames.forId("short.csv")).isEqualTo("short.csv");
    assertThat(FileNames.forId(a)).hasSize(150 + 1 + 16).isNotEqualTo(FileNames.forId(b));
    assertThat(FileNames.forId("lone \ud800")).matches("lone \\\\ud800~[0-9a-f]{16}");
  }
}
