package dev.pipeline.dashboard;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** The dashboard's paths, with outside values URL-encoded. */
final class Paths {
  private Paths() {}

  static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  static String stage(String base, String pipeline, String stage) {
    return base + "/stage?pipeline=" + encode(pipeline) + "&stage=" + encode(stage);
  }

  static String record(String base, String pipeline, String id) {
    return base + "/record?pipeline=" + encode(pipeline) + "&id=" + encode(id);
  }
}
