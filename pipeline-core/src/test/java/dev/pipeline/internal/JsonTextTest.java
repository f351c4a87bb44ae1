package dev.pipeline.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class JsonTextTest {
  @Test
  void hostileStringsAreEscapedSoTheyCannotBreakJsonAScriptOrAStore() {
    assertThat(JsonText.quote("say \"hi\" \\ there")).isEqualTo("\"say \\\"hi\\\" \\\\ there\"");
    assertThat(JsonText.quote("a\nb\rc\td\u0000e\u001Bf\u007Fg"))
        .isEqualTo("\"a\\nb\\rc\\td\\u0000e\\u001bf\\u007fg\"");
    assertThat(JsonText.quote("x\u2028y\u2029z")).isEqualTo("\"x\\u2028y\\u2029z\"");
    assertThat(JsonText.quote("</script><script>alert(1)</script>&amp;"))
        .isEqualTo(
            "\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u0026amp;\"");
    assertThat(JsonText.quote("lone \uD800 high, lone \uDC00 low, end \uD83D"))
        .isEqualTo("\"lone \\ud800 high, lone \\udc00 low, end \\ud83d\"");
  }

  @Test
  void ordinaryTextAndPairedSurrogatesAreKeptAsTheyAre() {
    assertThat(JsonText.quote("")).isEqualTo("\"\"");
    assertThat(JsonText.quote("plain ünïcödé 日本 \uD83D\uDE00 / ok"))
        .isEqualTo("\"plain ünïcödé 日本 \uD83D\uDE00 / ok\"");
    StringBuilder out = new StringBuilder("{");
    JsonText.quote("k", out);
    assertThat(out.append(':').toString()).isEqualTo("{\"k\":");
  }
}
