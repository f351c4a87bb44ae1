package dev.pipeline.quality;

import dev.pipeline.SafeText;

/** Text from outside (values, expressions, errors) made safe before it goes into a message. */
final class QualityText {
  private QualityText() {}

  /**
   * {@code text} for a message or a log line, as {@link SafeText#loggable(Object, int)} makes it:
   * its secrets masked, control and invisible format characters escaped, cut to {@code max}
   * characters.
   */
  static String bounded(Object text, int max) {
    return SafeText.loggable(text, max);
  }
}
