package dev.pipeline.dashboard;

import java.time.Duration;
import java.util.Locale;

/** Numbers as a person reads them at a glance. */
final class Format {
  private Format() {}

  static String rate(double perSecond) {
    if (perSecond >= 10_000) {
      return String.format(Locale.ROOT, "%.1fk/s", perSecond / 1_000);
    }
    if (perSecond >= 10) {
      return String.format(Locale.ROOT, "%.0f/s", perSecond);
    }
    return String.format(Locale.ROOT, "%.1f/s", perSecond);
  }

  static String duration(Duration d) {
    long nanos = d.toNanos();
    if (nanos < 10_000) {
      return nanos + " ns";
    }
    if (nanos < 10_000_000) {
      return (nanos / 1_000) + " µs";
    }
    if (nanos < 10_000_000_000L) {
      return (nanos / 1_000_000) + " ms";
    }
    return (nanos / 1_000_000_000) + " s";
  }

  static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  static String percent(double share) {
    return String.format(Locale.ROOT, "%.0f%%", share * 100);
  }
}
