package dev.pipeline.quality.report;

import java.util.List;

/**
 * Where {@link Sections#render} writes a report: one implementation per format, each escaping every
 * text it is given for its format.
 */
interface Page {

  /** A heading of level 1 to 3. */
  void heading(int level, String text);

  /** A paragraph. */
  void paragraph(String text);

  /** A numbered list. */
  void list(List<String> items);

  /** A table of at least one row. */
  void table(List<String> header, List<List<String>> rows);

  /** Whether {@link #plot} shows anything; lets the caller skip building a plot. */
  boolean plots();

  /**
   * An SVG plot made by {@link Charts} from escaped text; ignored where {@link #plots()} is false.
   */
  void plot(String svg);
}
