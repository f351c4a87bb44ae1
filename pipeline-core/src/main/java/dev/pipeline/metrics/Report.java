package dev.pipeline.metrics;

/**
 * A report on a pipeline, as Markdown and as one self-contained HTML page (no script, no external
 * resource): what {@link dev.pipeline.Pipeline#qualityReport} returns.
 */
public interface Report {

  /** The report as Markdown. */
  String toMarkdown();

  /** The report as one HTML page holding its own styles and plots. */
  String toHtml();
}
