package dev.pipeline.quality.drift;

/**
 * The fixed bins of a number histogram: log-linear, {@value #SUB_BINS} bins per power of two for
 * magnitudes from 2<sup>{@value #MIN_EXPONENT}</sup> (about 9.5e-7) up to 2<sup>{@value
 * #MAX_EXPONENT} + 1</sup> (about 1.8e13), for both signs, so that every bin is at most 12.5 % wide
 * relative to its values. Magnitudes below the range share one bin around zero; beyond it, one
 * overflow bin per sign. The bins are ordered by value, so that a cumulative count over indices is
 * a distribution function.
 */
final class NumberBins {

  static final int SUB_BINS = 8;
  static final int MIN_EXPONENT = -20;
  static final int MAX_EXPONENT = 43;

  private static final int PER_SIGN = (MAX_EXPONENT - MIN_EXPONENT + 1) * SUB_BINS;

  /** The bin of every magnitude below 2^MIN_EXPONENT, zero included. */
  static final int ZERO = PER_SIGN + 1;

  /** How many bins there are: two overflow bins, the bins of each sign and the zero bin. */
  static final int COUNT = 2 * PER_SIGN + 3;

  private NumberBins() {}

  /** The bin of a value that is not NaN. */
  static int index(double value) {
    double magnitude = Math.abs(value);
    int exponent = Math.getExponent(magnitude);
    if (exponent < MIN_EXPONENT) {
      return ZERO;
    }
    if (exponent > MAX_EXPONENT) {
      return value > 0 ? COUNT - 1 : 0;
    }
    int sub = (int) ((Double.doubleToRawLongBits(magnitude) >>> 49) & (SUB_BINS - 1));
    int position = (exponent - MIN_EXPONENT) * SUB_BINS + sub;
    return value > 0 ? ZERO + 1 + position : ZERO - 1 - position;
  }

  /** The smallest value of a bin (minus infinity for the negative overflow bin). */
  static double lower(int index) {
    if (index == 0) {
      return Double.NEGATIVE_INFINITY;
    }
    if (index == ZERO) {
      return -Math.scalb(1.0, MIN_EXPONENT);
    }
    if (index == COUNT - 1) {
      return Math.scalb(1.0, MAX_EXPONENT + 1);
    }
    return index > ZERO ? magnitudeLow(index - ZERO - 1) : -magnitudeLow(ZERO - index);
  }

  /** The value just above a bin (plus infinity for the positive overflow bin). */
  static double upper(int index) {
    return index == COUNT - 1 ? Double.POSITIVE_INFINITY : lower(index + 1);
  }

  /**
   * The low end of the magnitude of position {@code position}; position PER_SIGN is past the end.
   */
  private static double magnitudeLow(int position) {
    int exponent = MIN_EXPONENT + position / SUB_BINS;
    int sub = position % SUB_BINS;
    return Math.scalb(1.0 + (double) sub / SUB_BINS, exponent);
  }
}
