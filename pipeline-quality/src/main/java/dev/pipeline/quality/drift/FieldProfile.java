package dev.pipeline.quality.drift;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What one field's values looked like in one window: how many records were seen, how many held
 * null, and either a histogram of numbers or the most frequent values of a category with a
 * histogram of their lengths.
 *
 * <p>Numbers are counted in fixed log-linear bins (8 per power of two, so each bin is at most 12.5
 * % wide relative to its values; magnitudes below about 1e-6 share the bin around zero, those above
 * about 1.8e13 an overflow bin per sign). Categories keep the {@code k} most frequent values of a
 * Space-Saving summary; lengths are counted in power-of-two bins (0, 1, 2–3, 4–7, …).
 *
 * <p>Immutable and thread-safe.
 */
public final class FieldProfile {

  /** What kind of values a field holds. */
  public enum Kind {
    /** Numbers, profiled as a histogram. */
    NUMBER,
    /** Categories (any value, by its text), profiled as top values and lengths. */
    CATEGORY
  }

  /** How many power-of-two length bins there are: 0, 1, 2–3, …, 2^31 and above. */
  static final int LENGTH_BINS = 33;

  private final String name;
  private final Kind kind;
  private final long records;
  private final long nulls;
  private final long invalid;
  private final int[] bins;
  private final long[] binCounts;
  private final double min;
  private final double max;
  private final double sum;
  private final List<ValueCount> top;
  private final int capacity;
  private final long[] lengths;
  private final long lengthSum;

  FieldProfile(
      String name,
      Kind kind,
      long records,
      long nulls,
      long invalid,
      int[] bins,
      long[] binCounts,
      double min,
      double max,
      double sum,
      List<ValueCount> top,
      int capacity,
      long[] lengths,
      long lengthSum) {
    this.name = name;
    this.kind = kind;
    this.records = records;
    this.nulls = nulls;
    this.invalid = invalid;
    this.bins = bins;
    this.binCounts = binCounts;
    this.min = min;
    this.max = max;
    this.sum = sum;
    this.top = List.copyOf(top);
    this.capacity = capacity;
    this.lengths = lengths;
    this.lengthSum = lengthSum;
  }

  /** The field's name. */
  public String name() {
    return name;
  }

  /** Whether the field was profiled as numbers or categories. */
  public Kind kind() {
    return kind;
  }

  /** Records seen in the window, nulls included. */
  public long records() {
    return records;
  }

  /** Records whose value was null (or NaN, for a number field). */
  public long nulls() {
    return nulls;
  }

  /** Records of a number field whose value was not a number; always 0 for a category field. */
  public long invalid() {
    return invalid;
  }

  /** Records with a value that was profiled: {@code records - nulls - invalid}. */
  public long values() {
    return records - nulls - invalid;
  }

  /** The share of records whose value was null, 0 to 1; 0 when no record was seen. */
  public double nullRate() {
    return records == 0 ? 0 : (double) nulls / records;
  }

  /** The smallest number seen; NaN for a category field or when none was seen. */
  public double min() {
    return min;
  }

  /** The largest number seen; NaN for a category field or when none was seen. */
  public double max() {
    return max;
  }

  /** The mean of the numbers seen; NaN for a category field or when none was seen. */
  public double mean() {
    return kind == Kind.NUMBER && values() > 0 ? sum / values() : Double.NaN;
  }

  /**
   * An estimate of the {@code q}-quantile of the numbers seen, from the histogram: within 12.5 % of
   * a value of the right rank; NaN for a category field or when none was seen.
   *
   * @throws IllegalArgumentException if {@code q} is outside [0, 1]
   */
  public double quantile(double q) {
    if (!(q >= 0 && q <= 1)) {
      throw new IllegalArgumentException("q must be in [0, 1], got " + q);
    }
    long n = values();
    if (kind != Kind.NUMBER || n == 0) {
      return Double.NaN;
    }
    long rank = Math.max(1, (long) Math.ceil(q * n));
    long seen = 0;
    for (int i = 0; i < bins.length; i++) {
      seen += binCounts[i];
      if (seen >= rank) {
        double low = Math.max(NumberBins.lower(bins[i]), min);
        double high = Math.min(NumberBins.upper(bins[i]), max);
        return Math.min(Math.max((low + high) / 2, min), max);
      }
    }
    return max;
  }

  /**
   * The most frequent values of a category field, most frequent first; empty for a number field.
   */
  public List<ValueCount> topValues() {
    return top;
  }

  /** How many values the category summary holds at most ({@code k}); 0 for a number field. */
  public int capacity() {
    return capacity;
  }

  /** The mean length of a category field's values, in characters; NaN if none. */
  public double meanLength() {
    return kind == Kind.CATEGORY && values() > 0 ? (double) lengthSum / values() : Double.NaN;
  }

  /** The histogram's non-empty bins, in value order (package use: drift). */
  int[] bins() {
    return bins;
  }

  /** The counts of {@link #bins()}. */
  long[] binCounts() {
    return binCounts;
  }

  /** The sum of the numbers seen (package use: stored profiles). */
  double sum() {
    return sum;
  }

  /** The sum of the category values' lengths (package use: stored profiles). */
  long lengthSum() {
    return lengthSum;
  }

  /** The counts of the power-of-two length bins. */
  long[] lengths() {
    return lengths;
  }

  /**
   * This profile and {@code other} together, as if their records had been seen in one window; the
   * category summary keeps the {@code k} largest merged counts (a mergeable Space-Saving summary).
   *
   * @throws IllegalArgumentException if the two are not of the same field and kind
   */
  public FieldProfile plus(FieldProfile other) {
    Objects.requireNonNull(other, "other cannot be null");
    if (!name.equals(other.name) || kind != other.kind) {
      throw new IllegalArgumentException(
          "cannot add the profile of "
              + other.kind
              + " field '"
              + other.name
              + "' to that of "
              + kind
              + " field '"
              + name
              + "'");
    }
    long[] dense = new long[NumberBins.COUNT];
    addTo(dense);
    other.addTo(dense);
    long[] mergedLengths = new long[LENGTH_BINS];
    for (int i = 0; i < LENGTH_BINS; i++) {
      mergedLengths[i] = lengths[i] + other.lengths[i];
    }
    return new FieldProfile(
        name,
        kind,
        records + other.records,
        nulls + other.nulls,
        invalid + other.invalid,
        sparseBins(dense),
        sparseCounts(dense),
        nanMin(min, other.min),
        nanMax(max, other.max),
        sum + other.sum,
        mergeTop(top, other.top, Math.max(capacity, other.capacity)),
        Math.max(capacity, other.capacity),
        mergedLengths,
        lengthSum + other.lengthSum);
  }

  private void addTo(long[] dense) {
    for (int i = 0; i < bins.length; i++) {
      dense[bins[i]] += binCounts[i];
    }
  }

  static int[] sparseBins(long[] dense) {
    return java.util.stream.IntStream.range(0, dense.length).filter(i -> dense[i] != 0).toArray();
  }

  static long[] sparseCounts(long[] dense) {
    return Arrays.stream(dense).filter(c -> c != 0).toArray();
  }

  private static double nanMin(double a, double b) {
    return Double.isNaN(a) ? b : Double.isNaN(b) ? a : Math.min(a, b);
  }

  private static double nanMax(double a, double b) {
    return Double.isNaN(a) ? b : Double.isNaN(b) ? a : Math.max(a, b);
  }

  /**
   * The mergeable Space-Saving summary of two: a value missing from a summary that has evicted
   * values may have been seen there up to that summary's least count, which is added to both its
   * count and its error, so that count stays an upper bound and count − error a lower one.
   */
  private static List<ValueCount> mergeTop(List<ValueCount> a, List<ValueCount> b, int k) {
    Map<String, long[]> merged = new HashMap<>();
    long[] unseen = {leastIfEvicted(a), leastIfEvicted(b)};
    List<List<ValueCount>> sides = List.of(a, b);
    List<java.util.Set<String>> present = new ArrayList<>(2);
    for (List<ValueCount> side : sides) {
      present.add(
          side.stream().map(ValueCount::value).collect(java.util.stream.Collectors.toSet()));
    }
    for (int side = 0; side < 2; side++) {
      for (ValueCount v : sides.get(side)) {
        long[] c = merged.computeIfAbsent(v.value(), x -> new long[2]);
        c[0] += v.count();
        c[1] += v.error();
      }
    }
    List<ValueCount> out = new ArrayList<>(merged.size());
    merged.forEach(
        (value, c) -> {
          long count = c[0];
          long error = c[1];
          for (int side = 0; side < 2; side++) {
            if (!present.get(side).contains(value)) {
              count += unseen[side];
              error += unseen[side];
            }
          }
          out.add(new ValueCount(value, count, error));
        });
    out.sort(BY_COUNT);
    return out.size() > k ? out.subList(0, k) : out;
  }

  /** The least count of a summary that evicted values (one has an error); 0 if it never did. */
  private static long leastIfEvicted(List<ValueCount> top) {
    boolean evicted = top.stream().anyMatch(v -> v.error() > 0);
    return evicted ? top.stream().mapToLong(ValueCount::count).min().orElse(0) : 0;
  }

  /** Most frequent first; ties by value, so that the order is stable. */
  static final Comparator<ValueCount> BY_COUNT =
      Comparator.comparingLong(ValueCount::count).reversed().thenComparing(ValueCount::value);

  @Override
  public String toString() {
    return kind == Kind.NUMBER
        ? String.format(
            "%s: %d records, null rate %.3f, mean %.4g, p50 %.4g",
            name, records, nullRate(), mean(), quantile(0.5))
        : String.format(
            "%s: %d records, null rate %.3f, %d top values, mean length %.1f",
            name, records, nullRate(), top.size(), meanLength());
  }
}
