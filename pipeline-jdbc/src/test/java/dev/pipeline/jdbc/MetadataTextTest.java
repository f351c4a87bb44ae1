package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetadataTextTest {

  @Test
  void metadataSurvivesEveryCharacter() {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("source", "scraper-a");
    metadata.put("quote\"s", "back\\slash");
    metadata.put("ctl", "a\u0001b\nc\td\re");
    metadata.put("unicode", "ü日本\uD83D\uDE00");
    metadata.put("", "");

    String text = MetadataText.encode(metadata);

    assertThat(MetadataText.decode(text)).containsExactlyEntriesOf(metadata);
    assertThat(MetadataText.encode(Map.of())).isNull();
    assertThat(MetadataText.decode(null)).isEmpty();
    assertThat(MetadataText.decode(" { \"a\" : \"b\" } ")).containsEntry("a", "b");
  }

  @Test
  void damagedTextIsRefused() {
    for (String bad :
        new String[] {"{", "{\"a\"}", "{\"a\":1}", "[]", "{\"a\":\"b\"} x", "{\"a\":\"\\q\"}"}) {
      assertThatThrownBy(() -> MetadataText.decode(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("metadata");
    }
  }
}
