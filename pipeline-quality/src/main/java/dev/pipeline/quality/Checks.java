package dev.pipeline.quality;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import dev.pipeline.ReferenceData;
import dev.pipeline.StageContext;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAccessor;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Turns a {@link Rule} into a {@link Check} on one record type: every path resolved, every
 * expression compiled, once. Null values pass every rule but NOT_NULL (completeness is its job).
 */
final class Checks {
  /** The longest text a PATTERN or FORMAT rule looks at; a longer one fails the rule. */
  static final int MAX_TEXT_CHARS = 1_000_000;

  /** The default window of a UNIQUE rule. */
  static final Duration DEFAULT_UNIQUE_WINDOW = Duration.ofMinutes(10);

  /** The default number of values a UNIQUE rule remembers. */
  static final long DEFAULT_UNIQUE_KEYS = 100_000;

  /** The most values a UNIQUE rule may remember. */
  static final long MAX_UNIQUE_KEYS = 100_000_000;

  private static final Pattern NUMBER =
      Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");
  private static final Pattern INTEGER = Pattern.compile("[+-]?\\d+");
  private static final Pattern EMAIL = Pattern.compile("[^@\\s]{1,64}@[^@\\s.]+(\\.[^@\\s.]+)+");

  /** A check of one record; null if it passes, else what is wrong. */
  interface Check {
    @Nullable String test(Object record, StageContext context);
  }

  private Checks() {}

  /**
   * Compiles {@code rule} for records of {@code type}.
   *
   * @throws InvalidRuleException naming the rule, the type and what is wrong
   */
  static Check compile(Rule rule, Class<?> type, CheckResources resources) {
    try {
      return switch (rule.type()) {
        case NOT_NULL -> notNull(path(rule, type));
        case RANGE -> range(path(rule, type), Interval.parse(rule.expression()));
        case IN_SET -> inSet(path(rule, type), rule.expression());
        case LENGTH -> length(path(rule, type), Interval.parse(rule.expression()));
        case PATTERN -> pattern(path(rule, type), rule.expression());
        case FORMAT -> format(path(rule, type), rule.expression());
        case UNIQUE -> unique(path(rule, type), rule, resources.seenKeys());
        case REFERENCE -> reference(path(rule, type), rule.expression(), resources.references());
        case CONSISTENCY -> Consistency.compile(type, rule.expression());
        case FRESHNESS -> freshness(path(rule, type), duration(rule.expression(), "max age"));
        case VOLUME -> {
          Interval.parse(rule.expression());
          window(rule, Duration.ofMinutes(1));
          yield (record, context) -> null;
        }
        case EXPRESSION -> {
          CelCheck cel = CelCheck.compile(type, rule.expression());
          yield (record, context) -> cel.test(record);
        }
      };
    } catch (IllegalArgumentException e) {
      throw new InvalidRuleException(
          rule.name(),
          "rule '"
              + rule.name()
              + "' ("
              + rule.type()
              + ") on "
              + type.getName()
              + " is refused: "
              + e.getMessage());
    }
  }

  private static FieldPath path(Rule rule, Class<?> type) {
    if (rule.field() == null) {
      throw new IllegalArgumentException("a " + rule.type() + " rule needs a field path");
    }
    return FieldPath.compile(type, rule.field());
  }

  private static String shown(Object value) {
    return "'" + QualityText.bounded(value, 40) + "'";
  }

  private static Check notNull(FieldPath path) {
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return path.path() + " is null";
      }
      if (v instanceof CharSequence s && s.toString().isBlank()) {
        return path.path() + " is blank";
      }
      return null;
    };
  }

  private static Check range(FieldPath path, Interval interval) {
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return null;
      }
      double d;
      if (v instanceof Number n) {
        d = n instanceof BigDecimal b ? b.doubleValue() : n.doubleValue();
      } else {
        try {
          d = Double.parseDouble(v.toString().strip());
        } catch (NumberFormatException e) {
          return path.path() + " " + shown(v) + " is not a number";
        }
      }
      return interval.contains(d) ? null : path.path() + " " + shown(v) + " is not in " + interval;
    };
  }

  private static Check inSet(FieldPath path, String values) {
    Set<String> set =
        Set.of(values.split(",", -1)).stream()
            .map(String::strip)
            .collect(java.util.stream.Collectors.toUnmodifiableSet());
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return null;
      }
      String s = v instanceof Enum<?> e ? e.name() : v.toString();
      return set.contains(s)
          ? null
          : path.path() + " " + shown(s) + " is not one of " + set.size() + " allowed values";
    };
  }

  private static Check length(FieldPath path, Interval interval) {
    return (record, context) -> {
      Object v = path.get(record);
      int n;
      if (v == null) {
        return null;
      } else if (v instanceof CharSequence s) {
        n = s.length();
      } else if (v instanceof Collection<?> c) {
        n = c.size();
      } else if (v instanceof Map<?, ?> m) {
        n = m.size();
      } else {
        n = v.toString().length();
      }
      return interval.contains(n)
          ? null
          : path.path() + " has length " + n + ", not in " + interval;
    };
  }

  private static Check pattern(FieldPath path, String regex) {
    String tooBig = RegexSize.problem(regex);
    if (tooBig != null) {
      throw new IllegalArgumentException("the pattern is refused: " + tooBig);
    }
    Pattern p;
    try {
      p = Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(
          "the pattern is not valid RE2/J syntax: " + QualityText.bounded(e.getMessage(), 200));
    }
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return null;
      }
      CharSequence s = v instanceof CharSequence c ? c : v.toString();
      if (s.length() > MAX_TEXT_CHARS) {
        return path.path() + " has " + s.length() + " characters, more than a pattern checks";
      }
      return p.matcher(s).matches()
          ? null
          : path.path() + " " + shown(s) + " does not match the pattern";
    };
  }

  private static Check format(FieldPath path, String format) {
    String f = format.strip();
    FormatTest test;
    if (f.equals("date")) {
      test = Checks::isIsoTime;
    } else if (f.startsWith("date:")) {
      DateTimeFormatter formatter;
      try {
        formatter = DateTimeFormatter.ofPattern(f.substring(5));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "the date pattern is not valid: " + QualityText.bounded(e.getMessage(), 200));
      }
      test =
          s -> {
            try {
              formatter.parse(s);
              return true;
            } catch (DateTimeParseException e) {
              return false;
            }
          };
    } else if (f.equals("number")) {
      test = s -> NUMBER.matches(s);
    } else if (f.equals("integer")) {
      test = s -> INTEGER.matches(s);
    } else if (f.equals("email")) {
      test = s -> s.length() <= 254 && EMAIL.matches(s);
    } else if (f.equals("url")) {
      test = Checks::isUrl;
    } else {
      throw new IllegalArgumentException(
          "the format '"
              + QualityText.bounded(format, 40)
              + "' is unknown; use date, date:<pattern>, number, integer, email or url");
    }
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return null;
      }
      if (v instanceof TemporalAccessor && f.startsWith("date")
          || v instanceof Number && (f.equals("number") || f.equals("integer") && isIntegral(v))) {
        return null;
      }
      String s = v.toString();
      if (s.length() > MAX_TEXT_CHARS || !test.test(s)) {
        return path.path() + " " + shown(s) + " is not a valid " + f;
      }
      return null;
    };
  }

  private static boolean isIntegral(Object v) {
    return v instanceof Long
        || v instanceof Integer
        || v instanceof Short
        || v instanceof Byte
        || v instanceof java.math.BigInteger;
  }

  @FunctionalInterface
  private interface FormatTest {
    boolean test(String s);
  }

  private static boolean isIsoTime(String s) {
    return time(s) != null;
  }

  private static boolean isUrl(String s) {
    if (s.length() > 2048) {
      return false;
    }
    try {
      URI uri = new URI(s);
      String scheme = uri.getScheme();
      return scheme != null
          && (scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
          && uri.getHost() != null;
    } catch (URISyntaxException e) {
      return false;
    }
  }

  /** An instant from a time value or ISO-8601 text, or null if it is none. */
  static @Nullable Instant time(Object v) {
    return switch (v) {
      case Instant i -> i;
      case OffsetDateTime o -> o.toInstant();
      case ZonedDateTime z -> z.toInstant();
      case LocalDateTime l -> l.toInstant(ZoneOffset.UTC);
      case LocalDate d -> d.atStartOfDay(ZoneOffset.UTC).toInstant();
      case Long l -> Instant.ofEpochMilli(l);
      case CharSequence c -> parseTime(c.toString().strip());
      default -> null;
    };
  }

  private static @Nullable Instant parseTime(String s) {
    if (s.length() > 64) {
      return null;
    }
    try {
      return OffsetDateTime.parse(s).toInstant();
    } catch (DateTimeParseException notOffset) {
      try {
        return LocalDateTime.parse(s).toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException notLocal) {
        try {
          return LocalDate.parse(s).atStartOfDay(ZoneOffset.UTC).toInstant();
        } catch (DateTimeParseException notDate) {
          return null;
        }
      }
    }
  }

  static Duration duration(String text, String what) {
    try {
      Duration d = Duration.parse(text.strip());
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("the " + what + " must be positive, was " + text);
      }
      return d;
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "the "
              + what
              + " '"
              + QualityText.bounded(text, 40)
              + "' is not an ISO-8601 duration such as PT10M");
    }
  }

  static Duration window(Rule rule, Duration fallback) {
    String w = rule.parameters().get("window");
    return w == null ? fallback : duration(w, "window");
  }

  private static Check freshness(FieldPath path, Duration maxAge) {
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return null;
      }
      Instant t = time(v);
      if (t == null) {
        return path.path() + " " + shown(v) + " is not a time";
      }
      Duration age = Duration.between(t, context.now());
      return age.compareTo(maxAge) > 0
          ? path.path() + " is " + age.withNanos(0) + " old, more than " + maxAge
          : null;
    };
  }

  /** The first time and the record a UNIQUE rule saw a value. */
  private record Seen(String recordId, long atMillis) {}

  private static Check unique(FieldPath path, Rule rule, @Nullable SeenKeys store) {
    String scope = rule.parameters().getOrDefault("scope", "window").strip();
    if (scope.equals("store")) {
      if (store == null) {
        throw new IllegalArgumentException(
            "scope=store needs the store's seen keys: give the gate"
                + " seenKeys(SeenKeys.on(dataSource).build())");
      }
      return uniqueInStore(path, rule.name(), store);
    }
    if (!scope.equals("window")) {
      throw new IllegalArgumentException(
          "scope must be window or store, was '" + QualityText.bounded(scope, 40) + "'");
    }
    long window = window(rule, DEFAULT_UNIQUE_WINDOW).toMillis();
    String keys = rule.parameters().get("max_keys");
    long max;
    try {
      max = keys == null ? DEFAULT_UNIQUE_KEYS : Long.parseLong(keys.strip());
    } catch (NumberFormatException e) {
      max = -1;
    }
    if (max < 1 || max > MAX_UNIQUE_KEYS) {
      throw new IllegalArgumentException(
          "max_keys must be a whole number in [1, " + MAX_UNIQUE_KEYS + "], was " + keys);
    }
    // the cache's upkeep (its write buffer, the size bound) runs on the thread that writes, a
    // little each write: on Caffeine's default executor every burst of writes hands it to the
    // common pool, waking one of its threads, which cost more than the upkeep itself
    Cache<Object, Seen> seen =
        Caffeine.newBuilder().maximumSize(max).executor(Runnable::run).build();
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return null;
      }
      long now = context.now().toEpochMilli();
      String id = context.recordId();
      Seen mine = new Seen(id, now);
      Seen[] duplicate = new Seen[1];
      seen.asMap()
          .compute(
              v,
              (key, before) -> {
                if (before == null
                    || before.recordId().equals(id)
                    || now - before.atMillis() >= window) {
                  return mine;
                }
                duplicate[0] = before;
                return before;
              });
      return duplicate[0] == null
          ? null
          : path.path()
              + " "
              + shown(v)
              + " was seen in record '"
              + QualityText.bounded(duplicate[0].recordId(), 80)
              + "' within "
              + Duration.ofMillis(window);
    };
  }

  /** A UNIQUE rule against every key the store has seen for it, in any run. */
  private static Check uniqueInStore(FieldPath path, String rule, SeenKeys store) {
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return null;
      }
      String first =
          store.firstRecord(
              context.pipeline(),
              context.stage().value(),
              rule,
              String.valueOf(v),
              context.recordId());
      return first == null
          ? null
          : path.path()
              + " "
              + shown(v)
              + " was seen before, in record '"
              + QualityText.bounded(first, 80)
              + "'";
    };
  }

  @SuppressWarnings("unchecked")
  private static Check reference(
      FieldPath path, String name, Map<String, ReferenceData<?, ?>> references) {
    ReferenceData<Object, ?> data = (ReferenceData<Object, ?>) references.get(name.strip());
    if (data == null) {
      throw new IllegalArgumentException(
          "no reference data named '"
              + QualityText.bounded(name, 80)
              + "' was given to the gate; add it with QualityGate.Builder.reference(data), known: "
              + references.keySet());
    }
    return (record, context) -> {
      Object v = path.get(record);
      if (v == null) {
        return null;
      }
      boolean found;
      try {
        found = context.reference(data).find(v).isPresent();
      } catch (ClassCastException e) {
        return path.path() + " " + shown(v) + " is not a key of " + data.name();
      }
      return found ? null : path.path() + " " + shown(v) + " is not in " + data.name();
    };
  }
}
