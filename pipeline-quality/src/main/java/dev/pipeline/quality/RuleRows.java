package dev.pipeline.quality;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** How a {@link Rule} is written to and read from a row: its parameters as text, its hash. */
final class RuleRows {
  private static final Pattern KEY = Pattern.compile("[a-z_][a-z0-9_]{0,39}");

  private RuleRows() {}

  /** The parameters as {@code key=value} lines, sorted by key. */
  static String parameters(Map<String, String> parameters) {
    StringBuilder text = new StringBuilder();
    for (Map.Entry<String, String> e : new TreeMap<>(parameters).entrySet()) {
      if (!KEY.matcher(e.getKey()).matches()
          || e.getValue().indexOf('\n') >= 0
          || e.getValue().indexOf('\r') >= 0) {
        throw new IllegalArgumentException(
            "parameter '"
                + QualityText.bounded(e.getKey(), 40)
                + "': names are [a-z_][a-z0-9_]*, values one line");
      }
      if (!text.isEmpty()) {
        text.append('\n');
      }
      text.append(e.getKey()).append('=').append(e.getValue());
    }
    if (text.length() > RuleTable.MAX_PARAMETERS_CHARS) {
      throw new IllegalArgumentException("the parameters take more than 4,000 characters");
    }
    return text.toString();
  }

  /**
   * Parameters read from their text.
   *
   * @throws IllegalArgumentException if a line is not {@code key=value}
   */
  static Map<String, String> parameters(@Nullable String text) {
    Map<String, String> all = new LinkedHashMap<>();
    if (text == null || text.isBlank()) {
      return all;
    }
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      int eq = line.indexOf('=');
      String key = eq < 0 ? "" : line.substring(0, eq).strip();
      if (!KEY.matcher(key).matches()) {
        throw new IllegalArgumentException(
            "the parameter line '" + QualityText.bounded(line, 60) + "' is not key=value");
      }
      all.put(key, line.substring(eq + 1).strip());
    }
    return all;
  }

  /** A hash of everything a rule says, to see whether code changed it since it was registered. */
  static String hash(Rule rule) {
    String text =
        String.join(
            "\u0000",
            rule.type().name(),
            String.valueOf(rule.field()),
            rule.expression(),
            parameters(rule.parameters()),
            rule.severity().name(),
            rule.action().name(),
            Double.toString(rule.mostly()),
            Boolean.toString(rule.enabled()));
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(sha.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
