package dev.pipeline.dashboard;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The parameters of a query string or a form body, bounded: at most {@link #MAX_PARAMS} of them, a
 * name of at most 64 characters and a value of at most {@link #MAX_VALUE}. Anything past a bound is
 * a {@link BadRequestException}, never a failure of the server.
 */
final class Params {
  static final int MAX_PARAMS = 1_100;
  static final int MAX_VALUE = 8_192;
  private static final int MAX_NAME = 64;

  private final Map<String, List<String>> values;

  private Params(Map<String, List<String>> values) {
    this.values = values;
  }

  static Params parse(@Nullable String encoded) {
    return parse(encoded, MAX_VALUE);
  }

  /** Parses with another bound on a value: a form's, bounded by its body as a whole. */
  static Params parse(@Nullable String encoded, int maxValue) {
    Map<String, List<String>> values = new LinkedHashMap<>();
    if (encoded == null || encoded.isEmpty()) {
      return new Params(values);
    }
    int count = 0;
    for (String pair : encoded.split("&", -1)) {
      if (pair.isEmpty()) {
        continue;
      }
      if (++count > MAX_PARAMS) {
        throw new BadRequestException("too many parameters (at most " + MAX_PARAMS + ")");
      }
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      if (name.length() > MAX_NAME) {
        throw new BadRequestException(
            "a parameter name is longer than " + MAX_NAME + " characters");
      }
      if (value.length() > maxValue) {
        throw new BadRequestException(
            "parameter '" + name + "' is longer than " + maxValue + " characters");
      }
      values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
    return new Params(values);
  }

  private static String decode(String text) {
    try {
      return URLDecoder.decode(text, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new BadRequestException("a parameter is not URL-encoded properly");
    }
  }

  /** The first value of a parameter, trimmed, or null if absent or blank. */
  @Nullable String get(String name) {
    List<String> list = values.get(name);
    if (list == null || list.isEmpty()) {
      return null;
    }
    String value = list.get(0).strip();
    return value.isEmpty() ? null : value;
  }

  /** The first value of a parameter as sent (not trimmed; blank kept), or null if absent. */
  @Nullable String raw(String name) {
    List<String> list = values.get(name);
    return list == null || list.isEmpty() ? null : list.get(0);
  }

  /** The first value of a required parameter. */
  String require(String name) {
    String value = get(name);
    if (value == null) {
      throw new BadRequestException("parameter '" + name + "' is required");
    }
    return value;
  }

  /** Every non-blank value of a parameter. */
  List<String> all(String name) {
    List<String> list = values.getOrDefault(name, List.of());
    return list.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
  }

  /** An instant in ISO-8601 ({@code 2026-12-06T07:00:00Z}), or null if absent. */
  @Nullable Instant instant(String name) {
    String value = get(name);
    if (value == null) {
      return null;
    }
    try {
      return Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw new BadRequestException(
          "parameter '" + name + "' is not an instant like 2026-12-06T07:00:00Z");
    }
  }

  /** An integer between min and max, or the default if absent. */
  int integer(String name, int min, int max, int otherwise) {
    String value = get(name);
    if (value == null) {
      return otherwise;
    }
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // said below
    }
    throw new BadRequestException(
        "parameter '" + name + "' must be a whole number from " + min + " to " + max);
  }
}
