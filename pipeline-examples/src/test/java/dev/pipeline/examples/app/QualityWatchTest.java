package dev.pipeline.examples.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.quality.score.Dimension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QualityWatchTest {

  @Test
  void theAppWritesAnEscapedReportOfItsRulesDriftAndScores(@TempDir Path dir) throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      lines.add("shop-" + i + "|Caterpillar 320 excavator, 2015|EUR 85.000|EUR|very good|en");
    }
    // the cleaning stage strips markup; what is left of the title still needs escaping
    lines.add("evil-1|<script>alert(1)</script> excavator & \"co\"|12.5OO €|EUR|x|en");
    Path input = dir.resolve("mine.txt");
    Files.write(input, lines, StandardCharsets.UTF_8);

    for (String name : List.of("quality.html", "quality.md")) {
      Path report = dir.resolve(name);
      ByteArrayOutputStream stdout = new ByteArrayOutputStream();
      EquipmentListingsApp.run(
          EquipmentListingsApp.Options.parse(
              new String[] {
                "--file", input.toString(), "--memory", "--quiet", "--report", report.toString()
              }),
          new PrintStream(stdout, true, StandardCharsets.UTF_8),
          new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));

      assertThat(stdout.toString(StandardCharsets.UTF_8))
          .contains("quality report written to " + report)
          .contains("Rule price.garbled failed 0.5 % of validation's output");
      String text = Files.readString(report);
      assertThat(text)
          .as(name)
          .doesNotContain("<script", "alert(1)", "& \"co")
          .contains(name.endsWith(".md") ? "&amp; \"co\"" : "&amp; &quot;co&quot;");
      assertThat(text).as(name).contains("price.garbled", "evil-1", "manufacturer", "Completeness");
    }
  }

  @Test
  void rulesMapToDimensionsByName() {
    assertThat(QualityWatch.dimension("year.missing")).isEqualTo(Dimension.COMPLETENESS);
    assertThat(QualityWatch.dimension("hours.impossible")).isEqualTo(Dimension.CONSISTENCY);
    assertThat(QualityWatch.dimension("price.range")).isEqualTo(Dimension.VALIDITY);
  }
}
