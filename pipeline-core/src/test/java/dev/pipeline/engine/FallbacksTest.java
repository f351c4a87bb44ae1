package dev.pipeline.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.StageContext;
import org.junit.jupiter.api.Test;

class FallbacksTest {
  private static final int MAX = StageContext.MAX_METADATA_VALUE_CHARS;

  @Test
  void aMarkNamesEachStageItDegradedAtInOrder() {
    assertThat(Fallbacks.degradedMark(null, "cleaning")).isEqualTo("cleaning");
    assertThat(Fallbacks.degradedMark("cleaning", "by-kind/all/tag"))
        .isEqualTo("cleaning,by-kind/all/tag");
  }

  @Test
  void aMarkThatWouldOutgrowAValueEndsInAnEllipsisOnceAndStaysThere() {
    String full = Fallbacks.degradedMark("s".repeat(MAX - 5), "translation");

    assertThat(full).endsWith(",...").hasSizeLessThanOrEqualTo(MAX);
    assertThat(Fallbacks.degradedMark(full, "indexing")).isEqualTo(full);
  }

  @Test
  void aMarkTooLongFromOutsideIsCutToAValueEvenIfItEndsInTheEllipsis() {
    // a record claimed back from a row edited by hand: its mark was never held to the bound
    for (String earlier : new String[] {"x".repeat(3 * MAX) + ",...", "y".repeat(3 * MAX)}) {
      assertThat(Fallbacks.degradedMark(earlier, "cleaning"))
          .endsWith(",...")
          .hasSizeLessThanOrEqualTo(MAX);
    }
  }

  @Test
  void aCutNeverSplitsASurrogatePair() {
    String room = "a".repeat(MAX - ",...".length() - 1);
    String earlier = room + "\uD83D\uDE00" + "tail";

    String mark = Fallbacks.degradedMark(earlier, "cleaning");

    assertThat(mark).isEqualTo(room + ",...").hasSizeLessThanOrEqualTo(MAX);
  }

  @Test
  void controlCharactersAndAnEmptyEarlierMarkAreKeptAsDataWithinTheBound() {
    assertThat(Fallbacks.degradedMark("", "cleaning")).isEqualTo(",cleaning");
    assertThat(Fallbacks.degradedMark("a\nb\u001B", "cleaning")).isEqualTo("a\nb\u001B,cleaning");
  }
}
