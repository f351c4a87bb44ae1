package dev.pipeline.quality.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.quality.drift.Anomaly;
import dev.pipeline.quality.drift.DriftLevel;
import dev.pipeline.quality.drift.FieldDrift;
import dev.pipeline.quality.drift.FieldProfile;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.score.Dimension;
import dev.pipeline.quality.score.QualityScores;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class QualityReportTest {

  private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");
  private static final String SCRIPT = "<script>alert('x')</script>";
  private static final String MEGABYTE = "<b>".repeat(349_526); // about 1 MiB

  private static final Set<String> ELEMENTS =
      Set.of(
          "html",
          "head",
          "meta",
          "title",
          "style",
          "body",
          "h1",
          "h2",
          "h3",
          "p",
          "ol",
          "li",
          "table",
          "tr",
          "th",
          "td",
          "pre",
          "svg",
          "line",
          "text",
          "rect",
          "polyline",
          "circle");

  @Test
  void theInsightNamesTheRuleTheShareTheStageTheSourceAndTheExamples() {
    QualityReport report =
        report(
            priceRange(
                List.of(
                    example("r1"),
                    example("r2"),
                    example("r3"),
                    example("r4"),
                    example("r5"),
                    example("r6"))));
    assertThat(report.insights().get(0))
        .isEqualTo(
            "Rule price-range failed 12 % of extraction's output since 10:00 UTC (1,200 of 10,000"
                + " records); 80 % from source scraper-b; 5 examples. E.g. record r1: {\"price\":"
                + " -3}. Check source scraper-b first: most failures come from it. If its data is"
                + " right, the rule is too strict: change it in validation_rules (every version is"
                + " kept).");
    assertThat(report.insights())
        .anySatisfy(i -> assertThat(i).startsWith("Field price of extraction drifted (alert)"))
        .anySatisfy(
            i -> assertThat(i).startsWith("Anomaly at 10:20 UTC: stage 'extraction', volume"))
        .anySatisfy(
            i ->
                assertThat(i)
                    .isEqualTo(
                        "Validity of extraction scored 88.0 in the window ending 10:10 UTC, down"
                            + " from 99.0: see the rules of that dimension above."));
    assertThat(report.toHtml()).contains("r5").doesNotContain(">r6<");
  }

  @Test
  void hostileTextIsEscapedAndCutInTheHtml() {
    RuleFailure hostile =
        new RuleFailure(
            "<img src=x onerror=alert(1)>",
            "extraction\"><script>",
            T0,
            10,
            2,
            Map.of(SCRIPT, 2L),
            List.of(
                new ExampleRecord("id-" + SCRIPT, "src\u001B[31m", SCRIPT),
                new ExampleRecord("big", "s", MEGABYTE)));
    String html = report(hostile).toHtml();

    assertThat(html.toLowerCase()).doesNotContain("<script", "<img", "<b>");
    assertThat(html).contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    assertThat(html).doesNotContain("\u001B").contains("src\uFFFD[31m");
    assertThat(html.length()).as("a 1 MiB value is cut").isLessThan(100_000);
    assertThat(html).contains("more characters)");
    assertOnlyKnownElementsAndNoHandlers(html);
    assertThat(html).contains("Content-Security-Policy", "default-src 'none'");
  }

  @Test
  void hostileTextIsEscapedInTheMarkdown() {
    RuleFailure hostile =
        new RuleFailure(
            "a|b](javascript:x)",
            "extraction",
            T0,
            10,
            2,
            Map.of("scraper|b", 2L),
            List.of(
                new ExampleRecord("r\n1", "s", SCRIPT + "\n| forged | row |"),
                new ExampleRecord("big", "s", MEGABYTE)));
    String md = report(hostile).toMarkdown();
    assertThat(md).doesNotContain("<script", "<b>").doesNotContainPattern("(?<!\\\\)\\]\\(");
    assertThat(md).contains("a\\|b\\](javascript:x)", "&lt;script&gt;");
    assertThat(md.length()).isLessThan(60_000);
    // every table row keeps its number of cells: no value can add a column or a row
    for (String line : md.split("\n")) {
      if (line.startsWith("| r 1 |")) {
        assertThat(line.replace("\\|", "").chars().filter(c -> c == '|').count()).isEqualTo(4);
      }
    }
    assertThat(md).contains("| r 1 |");
  }

  @Test
  void hugeStageFieldAndMetricNamesAreCutAsRuleIdsAre() {
    // a stage, field or metric name is written into cells, plot labels and insights: 1 MiB each
    // made a report of about 40 MB
    String name = "stage|\n" + SCRIPT + MEGABYTE;
    FieldDrift field =
        new FieldDrift(
            name,
            FieldProfile.Kind.NUMBER,
            5000,
            5000,
            0.5,
            Double.NaN,
            name,
            0.2,
            1e-9,
            0,
            0.02,
            name,
            DriftLevel.ALERT);
    QualityReport report =
        QualityReport.builder(name, T0, T0.plus(Duration.ofHours(1)))
            .scores(
                List.of(
                    new QualityScores(
                        name, T0, T0.plusSeconds(300), Map.of(Dimension.VALIDITY, 99.0)),
                    new QualityScores(
                        name,
                        T0.plusSeconds(300),
                        T0.plusSeconds(600),
                        Map.of(Dimension.VALIDITY, 50.0))))
            .drift(List.of(new WindowDrift(name, T0, T0.plusSeconds(300), 5000, List.of(field))))
            .anomalies(
                List.of(
                    new Anomaly(
                        name,
                        name,
                        T0.plusSeconds(20),
                        40,
                        5000,
                        50,
                        -99.2,
                        -0.99,
                        Anomaly.Check.Z_SCORE)))
            .build();

    assertThat(report.scores().get(0).stage()).hasSizeLessThan(300).endsWith("more characters)");
    assertThat(report.insights()).allSatisfy(i -> assertThat(i).hasSizeLessThan(2_000));
    String html = report.toHtml();
    assertThat(html.length()).isLessThan(100_000);
    assertThat(html.toLowerCase()).doesNotContain("<script", "<b>");
    assertOnlyKnownElementsAndNoHandlers(html);
    String md = report.toMarkdown();
    assertThat(md.length()).isLessThan(60_000);
    assertThat(md).doesNotContain("<script", "<b>", "| forged");
    for (String line : md.split("\n")) {
      if (line.startsWith("| stage")) {
        assertThat(line.replace("\\|", "").chars().filter(c -> c == '|').count())
            .as("cells of %s", line.substring(0, 40))
            .isIn(8L, 9L, 11L);
      }
    }
  }

  @Test
  void theHtmlHasAPlotPerStageAndTablesOfEverySection() {
    String html = report(priceRange(List.of(example("r1")))).toHtml();
    assertThat(html)
        .contains(
            "<h2>Scores over time</h2>", "<h2>Drift per field</h2>", "<h2>Top failing rules</h2>")
        .contains("<h2>Anomalies</h2>", "<polyline", "PSI per field in the last window")
        .contains("<td>price-range</td>", "<td>0.312</td>", "warn 0.10", "alert 0.25");
    assertThat(Pattern.compile("<svg").matcher(html).results().count())
        .as("scores of extraction, PSI bars, PSI over time, rule bars")
        .isEqualTo(4);
    assertOnlyKnownElementsAndNoHandlers(html);
  }

  @Test
  void anEmptyReportSaysSo() {
    QualityReport empty = QualityReport.builder("p", T0, T0.plusSeconds(60)).build();
    assertThat(empty.insights())
        .containsExactly(
            "No rule failed, no field drifted and no metric left its range in this period.");
    assertThat(empty.toMarkdown()).contains("No scores in this period.", "No rule failures");
    assertOnlyKnownElementsAndNoHandlers(empty.toHtml());
  }

  @Test
  void badInputIsRefused() {
    assertThatThrownBy(() -> QualityReport.builder("p", T0.plusSeconds(1), T0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is after its end");
    assertThatThrownBy(() -> QualityReport.builder("p", T0, T0).examplesPerRule(21))
        .hasMessageContaining("[0, 20]");
    assertThatThrownBy(() -> new RuleFailure("r", "s", T0, 1, 2, Map.of(), List.of()))
        .hasMessageContaining("rule 'r'");
  }

  private static void assertOnlyKnownElementsAndNoHandlers(String html) {
    Matcher tag = Pattern.compile("<(/?)([a-zA-Z0-9]+)([^>]*)>").matcher(html);
    while (tag.find()) {
      assertThat(ELEMENTS).as("element in %s", tag.group()).contains(tag.group(2).toLowerCase());
      assertThat(tag.group(3).toLowerCase())
          .as("attributes of %s", tag.group(2))
          .doesNotContain(" on");
    }
    assertThat(html.replaceAll("<[^>]*>", "")).as("text outside tags").doesNotContain("<", ">");
  }

  private static ExampleRecord example(String id) {
    return new ExampleRecord(id, "scraper-b", "{\"price\": -3}");
  }

  private static RuleFailure priceRange(List<ExampleRecord> examples) {
    Map<String, Long> sources = new LinkedHashMap<>();
    sources.put("scraper-a", 240L);
    sources.put("scraper-b", 960L);
    return new RuleFailure("price-range", "extraction", T0, 10_000, 1_200, sources, examples);
  }

  private static QualityReport report(RuleFailure failure) {
    List<QualityScores> scores = new ArrayList<>();
    scores.add(
        new QualityScores(
            "extraction",
            T0,
            T0.plus(Duration.ofMinutes(5)),
            Map.of(Dimension.VALIDITY, 99.0, Dimension.COMPLETENESS, 100.0)));
    scores.add(
        new QualityScores(
            "extraction",
            T0.plus(Duration.ofMinutes(5)),
            T0.plus(Duration.ofMinutes(10)),
            Map.of(Dimension.VALIDITY, 88.0, Dimension.COMPLETENESS, 99.5)));
    FieldDrift calm = drift("currency", 0.01, DriftLevel.NONE);
    List<WindowDrift> drift =
        List.of(
            new WindowDrift(
                "extraction",
                T0,
                T0.plus(Duration.ofMinutes(5)),
                5000,
                List.of(drift("price", 0.02, DriftLevel.NONE), calm)),
            new WindowDrift(
                "extraction",
                T0.plus(Duration.ofMinutes(5)),
                T0.plus(Duration.ofMinutes(10)),
                5000,
                List.of(drift("price", 0.312, DriftLevel.ALERT), calm)));
    Anomaly anomaly =
        new Anomaly(
            "extraction",
            "volume",
            T0.plus(Duration.ofMinutes(20)),
            40,
            5000,
            50,
            -99.2,
            -0.99,
            Anomaly.Check.Z_SCORE);
    return QualityReport.builder("listings", T0, T0.plus(Duration.ofHours(1)))
        .scores(scores)
        .drift(drift)
        .anomalies(List.of(anomaly))
        .ruleFailures(List.of(failure))
        .build();
  }

  private static FieldDrift drift(String field, double psi, DriftLevel level) {
    return new FieldDrift(
        field,
        FieldProfile.Kind.NUMBER,
        5000,
        5000,
        psi,
        Double.NaN,
        "kolmogorov-smirnov",
        0.2,
        1e-9,
        0,
        0.02,
        "psi",
        level);
  }
}
