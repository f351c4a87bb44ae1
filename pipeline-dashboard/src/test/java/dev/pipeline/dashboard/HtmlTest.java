package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HtmlTest {
  @Test
  void escapesMarkupQuotesAndControlCharacters() {
    assertThat(Html.escape("<a href=\"x\" onclick='y'>&</a>"))
        .isEqualTo("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
    assertThat(Html.escape("line\u0000\u001b[2J\u2028end\ttab\nnext"))
        .isEqualTo("line\\u0000\\u001B[2J\\u2028end\ttab\nnext");
    assertThat(Html.escape("order-1\u202Efdp.exe\u2066x\u2069"))
        .as("an override would show the id reversed")
        .isEqualTo("order-1\\u202Efdp.exe\\u2066x\\u2069");
    assertThat(Html.escape("lone \ud800 surrogate, pair \ud83d\ude00"))
        .isEqualTo("lone \\uD800 surrogate, pair \ud83d\ude00");
  }

  @Test
  void cutsLongTextAndSaysSo() {
    String cut = new Html().text("x".repeat(50), 10).toString();
    assertThat(cut).isEqualTo("xxxxxxxxxx… (40 more characters)");
    assertThat(new Html().text("a\ud83d\ude00b", 2).toString())
        .as("a pair is never split")
        .startsWith("a…");
  }

  @Test
  void jsonEscapesMarkupAsWell() {
    assertThat(Json.write(java.util.Map.of("k", "</script><b>\"&\n")))
        .isEqualTo("{\"k\":\"\\u003c/script\\u003e\\u003cb\\u003e\\\"\\u0026\\n\"}");
    assertThat(Json.write(java.util.List.of(1.5, Double.NaN, 3L, true)))
        .isEqualTo("[1.500,null,3,true]");
  }
}
