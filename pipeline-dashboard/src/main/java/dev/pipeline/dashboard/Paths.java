package dev.pipeline.dashboard;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** The dashboard's paths, with outside values URL-encoded. */
final class Paths {
  private Paths() {}

  static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /**
   * A record id as a form field of the dashboard carries it: URL-encoded once more, as plain ASCII,
   * so that control characters, line breaks and spaces at either end, which HTML and a browser's
   * form encoding would change, come back exactly. The longest stored id encodes to at most {@value
   * #MAX_FORM_ID} characters.
   */
  static String formId(String id) {
    return encode(id);
  }

  /** The most characters {@link #formId} writes for an id a store keeps (1000 × 9). */
  static final int MAX_FORM_ID = 9_000;

  /** The record id a form field written by {@link #formId} carries. */
  static String idFromForm(String value) {
    try {
      return URLDecoder.decode(value, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new BadRequestException("a record id in the form is not encoded as the dashboard does");
    }
  }

  static String stage(String base, String pipeline, String stage) {
    return base + "/stage?pipeline=" + encode(pipeline) + "&stage=" + encode(stage);
  }

  static String record(String base, String pipeline, String id) {
    return base + "/record?pipeline=" + encode(pipeline) + "&id=" + encode(id);
  }
}
