package dev.pipeline.quality.report;

import java.util.List;

/**
 * Renders a {@link QualityReport} as one self-contained HTML file: inline CSS and SVG, no script, a
 * Content-Security-Policy that forbids every outside resource and script; every text goes through
 * {@link Text#html}.
 */
final class HtmlReport implements Page {

  private static final String STYLE =
      "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
          + "table{border-collapse:collapse;margin:.5em 0 1.5em}"
          + "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;"
          + "white-space:pre-wrap;overflow-wrap:anywhere;max-width:640px}"
          + "th{background:#f2f2f2}li{margin:.3em 0}svg{display:block;margin:.5em 0}"
          + "svg .grid{stroke:#e5e5e5}svg .mark{stroke:#b00020;stroke-dasharray:4 3}"
          + "svg .tick,svg .legend{font:11px sans-serif;fill:#444}";

  private final StringBuilder h = new StringBuilder(32_768);

  private HtmlReport() {}

  static String render(QualityReport report) {
    HtmlReport page = new HtmlReport();
    page.h
        .append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>")
        .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';")
        .append(" style-src 'unsafe-inline'; img-src data:\"/>")
        .append("<title>")
        .append(Text.html("Quality report: " + report.pipeline()))
        .append("</title><style>")
        .append(STYLE)
        .append("</style></head><body>\n");
    Sections.render(report, page);
    return page.h.append("</body></html>\n").toString();
  }

  @Override
  public void heading(int level, String text) {
    h.append("<h").append(level).append('>').append(Text.html(text));
    h.append("</h").append(level).append(">\n");
  }

  @Override
  public void paragraph(String text) {
    h.append("<p>").append(Text.html(text)).append("</p>\n");
  }

  @Override
  public void list(List<String> items) {
    h.append("<ol>\n");
    for (String item : items) {
      h.append("<li>").append(Text.html(item)).append("</li>\n");
    }
    h.append("</ol>\n");
  }

  @Override
  public void table(List<String> header, List<List<String>> rows) {
    h.append("<table><tr>");
    for (String cell : header) {
      h.append("<th>").append(Text.html(cell)).append("</th>");
    }
    h.append("</tr>\n");
    for (List<String> row : rows) {
      h.append("<tr>");
      for (String cell : row) {
        h.append("<td>").append(Text.html(cell)).append("</td>");
      }
      h.append("</tr>\n");
    }
    h.append("</table>\n");
  }

  @Override
  public boolean plots() {
    return true;
  }

  @Override
  public void plot(String svg) {
    h.append(svg).append('\n');
  }
}
