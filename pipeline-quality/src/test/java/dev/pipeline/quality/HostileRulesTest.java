package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.testkit.StageTester;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Rules written to hurt: each is refused when loaded, or runs in bounded time. */
class HostileRulesTest {

  private static QualityGate<Listing> gate(Rule rule) {
    return QualityGate.of(Listing.class).rule(rule).build();
  }

  private static Listing withTags(List<String> tags) {
    return new Listing(
        "x",
        "title",
        null,
        "a@b.cd",
        "https://x.y",
        "2026-01-01",
        java.time.Instant.EPOCH,
        1,
        tags,
        java.util.Map.of());
  }

  @Test
  void celCannotNameAJavaClass() {
    for (String expression :
        List.of(
            "java.lang.Runtime.getRuntime().exec('id') == null",
            "type(title) == java.lang.String",
            "dev.pipeline.quality.Listing{id: 'x'}.id == 'x'",
            "title.getClass().getName() == 'java.lang.String'")) {
      assertThatThrownBy(() -> gate(Rule.expression("hostile", expression)))
          .as(expression)
          .isInstanceOf(InvalidRuleException.class)
          .hasMessageContaining("rule 'hostile' (EXPRESSION)")
          .hasMessageContaining("does not compile")
          .hasMessageContaining("undeclared reference");
    }
  }

  @Test
  void deepNestingIsRefused() {
    String deep = "(".repeat(200) + "true" + ")".repeat(200);
    assertThatThrownBy(() -> gate(Rule.expression("deep", deep)))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("rule 'deep'")
        .hasMessageContaining("recursion limit exceeded. limit: 32");
    String deepCalls = "size(".repeat(100) + "title" + ")".repeat(100) + " > 0";
    assertThatThrownBy(() -> gate(Rule.expression("deep-calls", deepCalls)))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("recursion limit exceeded");
  }

  @Test
  void aOneMegabyteExpressionIsRefusedBeforeItIsParsed() {
    String huge = "true && ".repeat(131_072) + "true";
    assertThat(huge.length()).isGreaterThan(1_000_000);
    assertThatThrownBy(() -> Rule.expression("huge", huge))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("more than the 10000 allowed");
    String wide = "true && ".repeat(1_200) + "true"; // under the size limit, over the node limit
    assertThatThrownBy(() -> gate(Rule.expression("wide", wide)))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("rule 'wide'")
        .hasMessageContaining("node limit (2000) exceeded");
  }

  @Test
  void aNonBooleanExpressionIsRefused() {
    assertThatThrownBy(() -> gate(Rule.expression("number", "quantity + 1")))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("does not compile");
  }

  @Test
  void comprehensionsOverAHugeListStopAtTheIterationLimit() {
    List<String> tags = new ArrayList<>();
    for (int i = 0; i < 200_000; i++) {
      tags.add("t" + i);
    }
    Listing many = withTags(tags);
    var t =
        StageTester.of(
            gate(Rule.expression("nested", "tags.all(a, tags.all(b, a == b || a != b))")));
    var result = t.run(many);
    assertThat(result.isFailed()).isTrue();
    assertThat(result.failure().getMessage())
        .contains("could not be evaluated")
        .contains("Iteration budget exceeded: 10000");
  }

  @Test
  void concatenationsStopAtTheirBudgetInsteadOfFillingTheHeap() {
    // nine levels of (x + x) build 512 copies of the title: 512 MB of characters from a 1 MB title
    String balanced = "title";
    for (int i = 0; i < 9; i++) {
      balanced = "(" + balanced + " + " + balanced + ")";
    }
    String doubled = "title"; // the same through map(): each level doubles what the one in it built
    for (int i = 0; i < 14; i++) {
      doubled = "[" + doubled + "].map(a, a + a)[0]";
    }
    String big = "a".repeat(1_000_000);
    for (String expression : List.of("size(" + balanced + ") > 0", "size(" + doubled + ") > 0")) {
      var t = StageTester.of(gate(Rule.expression("blow-up", expression)));
      var result = t.run(Listing.good("x").withTitle(big));
      assertThat(result.isFailed()).as(expression).isTrue();
      assertThat(result.failure().getMessage())
          .contains("could not be evaluated")
          .contains("concatenations built more than " + CelCheck.MAX_CONCAT_SIZE);
    }
    var small = StageTester.of(gate(Rule.expression("fine", "size(" + balanced + ") == 512")));
    assertThat(small.run(Listing.good("y").withTitle("a")).isFailed()).isFalse();
    var list = StageTester.of(gate(Rule.expression("lists", "size(tags + tags) == 4")));
    assertThat(list.run(Listing.good("z")).isFailed()).isFalse();
  }

  @Test
  void aMacrosOwnAccumulationCountsAsConcatenation() {
    // no + is written, but map() expands to a comprehension that adds each element to its result:
    // 5,000 elements build lists of 1 to 5,000 elements, 12.5 million in all, past the budget
    List<String> tags = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      tags.add("t" + i);
    }
    Listing many = withTags(tags);
    var t = StageTester.of(gate(Rule.expression("mapped", "size(tags.map(a, a)) == 5000")));
    var result = t.run(many);
    assertThat(result.isFailed()).isTrue();
    assertThat(result.failure().getMessage())
        .contains("concatenations built more than " + CelCheck.MAX_CONCAT_SIZE);
  }

  @Test
  void aCatastrophicRegexRunsInLinearTime() {
    // (a+)+$ backtracks exponentially in java.util.regex on "aaaa...!"; RE2/J does not backtrack
    var t = StageTester.of(gate(Rule.pattern("evil", "title", "(a+)+$")));
    String attack = "a".repeat(100_000) + "!";
    var result = t.run(Listing.good("x").withTitle(attack));
    assertThat(result.isFailed()).isTrue();
    assertThat(result.failure().getMessage()).contains("does not match the pattern");
    var nested = StageTester.of(gate(Rule.pattern("evil2", "title", "(a|aa)*(b|a+)*c")));
    assertThat(nested.run(Listing.good("y").withTitle("a".repeat(50_000))).isFailed()).isTrue();
    var inCel = StageTester.of(gate(Rule.expression("evil3", "title.matches('^(a+)+$')")));
    assertThat(inCel.run(Listing.good("z").withTitle(attack)).isFailed()).isTrue();
  }

  @Test
  void aPatternThatExpandsPastWhatRe2AllowsIsRefusedBeforeItIsCompiled() {
    // RE2/J expands this into a billion instructions: many seconds, then out of heap
    String nested = "((a{1000}){1000}){1000}";
    assertThatThrownBy(() -> gate(Rule.pattern("nested", "title", nested)))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("rule 'nested'")
        .hasMessageContaining("more than the 1000 allowed");
    assertThatThrownBy(() -> gate(Rule.expression("in-cel", "title.matches('" + nested + "')")))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("rule 'in-cel'")
        .hasMessageContaining("the pattern of matches() is refused");
    var fromRecord = StageTester.of(gate(Rule.expression("from-record", "title.matches(email)")));
    var result = fromRecord.run(Listing.good("x").withEmail("((((a{100}){100}){100}){100})"));
    assertThat(result.isFailed()).isTrue();
    assertThat(result.failure().getMessage())
        .contains("the pattern for matches() is refused")
        .contains("more than the 1000 allowed");
    var within = StageTester.of(gate(Rule.pattern("within", "title", "(a{10}){100}[{]{3}")));
    assertThat(within.run(Listing.good("y").withTitle("a".repeat(1_000) + "{{{")).isFailed())
        .isFalse();
    assertThat(fromRecord.run(Listing.good("z").withTitle("ab").withEmail("[a-z]{2}")).isFailed())
        .isFalse();
  }

  @Test
  void aRegexRE2CannotRunIsRefused() {
    assertThatThrownBy(() -> gate(Rule.pattern("backref", "title", "(a)\\1")))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("not valid RE2/J syntax");
    assertThatThrownBy(() -> gate(Rule.pattern("lookahead", "title", "(?=a)a")))
        .isInstanceOf(InvalidRuleException.class);
  }

  /** A record with values of the JDK's own types, whose getters do I/O. */
  record Located(String id, java.net.URL url, java.io.File file) {}

  @Test
  void rulesReadNoGetterOfTheJdksOwnTypes() throws Exception {
    java.nio.file.Path tmp = java.nio.file.Files.createTempFile("hostile", ".txt");
    try {
      Located located = new Located("a", tmp.toUri().toURL(), tmp.toFile());
      // url.content would open the URL (a fetch for http:), file.canonicalPath read the disk
      for (String expression :
          List.of("url.content != null", "size(file.canonicalPath) > 0", "file.freeSpace > 0")) {
        var t =
            StageTester.of(
                QualityGate.of(Located.class).rule(Rule.expression("getter", expression)).build());
        var result = t.run(located);
        assertThat(result.isFailed()).as(expression).isTrue();
        assertThat(result.failure().getMessage()).contains("could not be evaluated");
      }
      var asText =
          StageTester.of(
              QualityGate.of(Located.class)
                  .rule(Rule.expression("text", "url.startsWith('file:')"))
                  .build());
      assertThat(asText.run(located).isFailed()).isFalse();
      assertThatThrownBy(
              () -> QualityGate.of(Located.class).rule(Rule.notNull("path", "url.content")).build())
          .isInstanceOf(InvalidRuleException.class)
          .hasMessageContaining("has no field 'content'");
    } finally {
      java.nio.file.Files.delete(tmp);
    }
  }

  @Test
  void aRuleOnAMissingFieldIsRefused() {
    assertThatThrownBy(() -> gate(Rule.range("r", "price.cost", "[0, 1]")))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("has no field 'cost'");
  }

  @Test
  void hostileTextInARuleIsEscapedInMessages() {
    assertThatThrownBy(() -> gate(Rule.range("r", "price.\u001b[31mcost\n", "[0, 1]")))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageNotContaining("\u001b")
        .hasMessageNotContaining("\n")
        .hasMessageContaining("\\u001B");
    // a right-to-left override would make the rest of an alert or log line read backwards
    assertThatThrownBy(() -> gate(Rule.range("r", "price.\u202Etsoc\u2028x", "[0, 1]")))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageNotContaining("\u202E")
        .hasMessageNotContaining("\u2028")
        .hasMessageContaining("\\u202E")
        .hasMessageContaining("\\u2028");
  }

  @Test
  void secretsInAValueOrARecordIdAreMaskedInViolationMessages() {
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class)
            .rule(Rule.pattern("url", "url", "^https://example\\.com/.*"))
            .rule(Rule.inSet("title", "title", "Excavator", "Crane"))
            .build();
    Listing leaky =
        Listing.good("a")
            .withUrl("https://admin:hunter2@example.com/l/1")
            .withTitle("jdbc:h2:mem:x;PASSWORD=s3cret\n[main] ERROR forged");

    var result = StageTester.of(gate).run("?access_token=tok-123", leaky);

    assertThat(result.isFailed()).isTrue();
    assertThat(result.failure().getMessage())
        .contains("url 'https://admin:***@example.com/l/1'")
        .contains("title 'jdbc:h2:mem:x;PASSWORD=***\\n[main] ERROR")
        .contains("record '?access_token=***'")
        .doesNotContain("hunter2", "s3cret", "tok-123", "\n[main]");
  }
}
