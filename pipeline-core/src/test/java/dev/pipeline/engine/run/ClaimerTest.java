package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.internal.ErrorText;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClaimerTest {
  private static final String HOSTILE = "listings\n[main] INFO forged\u001B[2J\u202E";

  @Test
  void whatIsLeftNamesTenSourcesEscapedAndCutHoweverManyAndLongTheirIdsAre() {
    Map<String, Long> left = new LinkedHashMap<>();
    left.put(HOSTILE, 3L);
    left.put("h".repeat(100_000), 1L);
    left.put("\u0007".repeat(10_000), 2L); // each escaped to six characters
    for (int i = 0; i < 5_000; i++) {
      left.put("source-" + i + "\r\n", 2L);
    }

    String text = Claimer.whatIsLeft(left);

    assertThat(ErrorText.firstControl(text)).as("one log line, no control character").isEqualTo(-1);
    assertThat(text)
        .startsWith("3 records of source 'listings\\n[main] INFO forged\\u001B[2J\\u202E', ")
        .contains(", 1 record of source 'hhh")
        .contains(", 2 records of source 'source-6\\r\\n'")
        .doesNotContain("source-7")
        .endsWith(" and those of 4993 more sources")
        .hasSizeLessThan(5_000);
  }

  @Test
  void whatIsLeftTakesAStoresNullsWithoutFailingTheRunAtItsEnd() {
    Map<String, Long> left = new HashMap<>();
    left.put(null, null);

    assertThat(Claimer.whatIsLeft(left)).isEqualTo("null records of source 'null'");
  }
}
