package dev.pipeline.quality;

/**
 * An interval of numbers as rules write it: {@code [0, 10]}, {@code (0, )}, {@code [1, 200)}.
 * Immutable.
 */
record Interval(double low, boolean lowIncluded, double high, boolean highIncluded) {

  /**
   * Parses an interval.
   *
   * @throws IllegalArgumentException saying the expected form if it is malformed or empty
   */
  static Interval parse(String text) {
    String t = text.strip();
    int comma = t.indexOf(',');
    if (t.length() < 3
        || comma < 0
        || "[(".indexOf(t.charAt(0)) < 0
        || "])".indexOf(t.charAt(t.length() - 1)) < 0) {
      throw new IllegalArgumentException(
          "the interval '"
              + QualityText.bounded(text, 80)
              + "' is not of the form [low, high], (low, high), [low, ) or ( , high]");
    }
    String lo = t.substring(1, comma).strip();
    String hi = t.substring(comma + 1, t.length() - 1).strip();
    double low = lo.isEmpty() ? Double.NEGATIVE_INFINITY : number(lo, text);
    double high = hi.isEmpty() ? Double.POSITIVE_INFINITY : number(hi, text);
    if (low > high) {
      throw new IllegalArgumentException(
          "the interval '"
              + QualityText.bounded(text, 80)
              + "' has its low end above its high end");
    }
    return new Interval(low, t.charAt(0) == '[', high, t.charAt(t.length() - 1) == ']');
  }

  private static double number(String s, String text) {
    try {
      double d = Double.parseDouble(s);
      if (Double.isNaN(d)) {
        throw new NumberFormatException("NaN");
      }
      return d;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "the interval '" + QualityText.bounded(text, 80) + "' has a bound that is not a number");
    }
  }

  boolean contains(double v) {
    return (lowIncluded ? v >= low : v > low) && (highIncluded ? v <= high : v < high);
  }

  @Override
  public String toString() {
    return (lowIncluded ? "[" : "(")
        + (low == Double.NEGATIVE_INFINITY ? "" : fmt(low))
        + ", "
        + (high == Double.POSITIVE_INFINITY ? "" : fmt(high))
        + (highIncluded ? "]" : ")");
  }

  private static String fmt(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }
}
