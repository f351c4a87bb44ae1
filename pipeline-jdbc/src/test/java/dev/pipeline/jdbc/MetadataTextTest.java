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
  void nulAndUnpairedSurrogatesAreEscapedSoEveryDatabaseStoresTheText() {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("nul\0key", "a\0b");
    metadata.put("lone", "x\uD800y\uDC00");
    metadata.put("pair", "\uD83D\uDE00");

    String text = MetadataText.encode(metadata);

    assertThat(text).doesNotContain("\0", "\uD800", "\uDC00").contains("\\u0000", "\\ud800");
    assertThat(MetadataText.decode(text)).containsExactlyEntriesOf(metadata);
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
