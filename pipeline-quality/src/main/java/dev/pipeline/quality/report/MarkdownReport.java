package dev.pipeline.quality.report;

import java.util.List;

/** Renders a {@link QualityReport} as Markdown; every text goes through {@link Text#md}. */
final class MarkdownReport implements Page {

  private final StringBuilder md = new StringBuilder(8192);

  private MarkdownReport() {}

  static String render(QualityReport report) {
    MarkdownReport page = new MarkdownReport();
    Sections.render(report, page);
    return page.md.toString();
  }

  @Override
  public void heading(int level, String text) {
    md.append("#".repeat(level)).append(' ').append(Text.md(text)).append("\n\n");
  }

  @Override
  public void paragraph(String text) {
    md.append(Text.md(text)).append("\n\n");
  }

  @Override
  public void list(List<String> items) {
    for (String item : items) {
      md.append("- ").append(Text.md(item)).append('\n');
    }
    md.append('\n');
  }

  @Override
  public void table(List<String> header, List<List<String>> rows) {
    row(header);
    md.append('|').append("---|".repeat(header.size())).append('\n');
    rows.forEach(this::row);
    md.append('\n');
  }

  private void row(List<String> cells) {
    md.append('|');
    for (String cell : cells) {
      md.append(' ').append(Text.md(cell)).append(" |");
    }
    md.append('\n');
  }

  @Override
  public boolean plots() {
    return false;
  }

  @Override
  public void plot(String svg) {
    // Markdown has no inline plots: the tables carry the figures
  }
}
