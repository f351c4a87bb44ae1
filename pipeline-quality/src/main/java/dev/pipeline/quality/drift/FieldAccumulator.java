package dev.pipeline.quality.drift;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The profile of one field being filled in the current window: updated under its own lock (so that
 * fields are counted in parallel), emptied into an immutable {@link FieldProfile} when the window
 * closes. Its memory is fixed when it is built: {@link NumberBins#COUNT} counters for a number
 * field; {@code k} values of at most {@link FieldProfiler#MAX_VALUE_CHARS} characters and {@link
 * FieldProfile#LENGTH_BINS} counters for a category field.
 *
 * <p>Thread-safe.
 */
abstract sealed class FieldAccumulator<T> {

  final String name;
  private final Function<? super T, ?> field;
  final ReentrantLock lock = new ReentrantLock();

  // guarded by lock
  long records;
  long nulls;

  FieldAccumulator(String name, Function<? super T, ?> field) {
    this.name = name;
    this.field = field;
  }

  /** Reads the field of {@code record} and counts it; an exception of the getter counts as null. */
  final void observe(T record) {
    Object value;
    try {
      value = field.apply(record);
    } catch (RuntimeException e) {
      value = null;
    }
    lock.lock();
    try {
      records++;
      count(value);
    } finally {
      lock.unlock();
    }
  }

  /** Counts one value, under the lock. */
  abstract void count(@Nullable Object value);

  /** The window's profile; empties the accumulator for the next window. */
  final FieldProfile drain() {
    lock.lock();
    try {
      FieldProfile profile = snapshot();
      records = 0;
      nulls = 0;
      reset();
      return profile;
    } finally {
      lock.unlock();
    }
  }

  /** The profile so far, under the lock. */
  abstract FieldProfile snapshot();

  /** Empties the kind-specific counters, under the lock. */
  abstract void reset();

  /** A number field: a fixed log-linear histogram. */
  static final class Numbers<T> extends FieldAccumulator<T> {
    private final long[] bins = new long[NumberBins.COUNT];
    private long invalid;
    private double min = Double.NaN;
    private double max = Double.NaN;
    private double sum;

    Numbers(String name, Function<? super T, ?> field) {
      super(name, field);
    }

    @Override
    void count(@Nullable Object value) {
      if (value == null) {
        nulls++;
        return;
      }
      if (!(value instanceof Number number)) {
        invalid++;
        return;
      }
      double x = number.doubleValue();
      if (Double.isNaN(x)) {
        nulls++;
        return;
      }
      bins[NumberBins.index(x)]++;
      if (!(x >= min)) {
        min = x;
      }
      if (!(x <= max)) {
        max = x;
      }
      sum += x;
    }

    @Override
    FieldProfile snapshot() {
      return new FieldProfile(
          name,
          FieldProfile.Kind.NUMBER,
          records,
          nulls,
          invalid,
          FieldProfile.sparseBins(bins),
          FieldProfile.sparseCounts(bins),
          min,
          max,
          sum,
          List.of(),
          0,
          new long[FieldProfile.LENGTH_BINS],
          0);
    }

    @Override
    void reset() {
      Arrays.fill(bins, 0);
      invalid = 0;
      min = Double.NaN;
      max = Double.NaN;
      sum = 0;
    }
  }

  /**
   * A category field: a Space-Saving summary of at most {@code k} values (when full, a new value
   * takes the place of the least counted one and inherits its count as its error), and the lengths
   * of the values in power-of-two bins.
   */
  static final class Categories<T> extends FieldAccumulator<T> {
    private final int capacity;
    private final Map<String, long[]> counters;
    private final long[] lengths = new long[FieldProfile.LENGTH_BINS];
    private long lengthSum;

    Categories(String name, Function<? super T, ?> field, int capacity) {
      super(name, field);
      this.capacity = capacity;
      this.counters = HashMap.newHashMap(capacity + 1);
    }

    @Override
    void count(@Nullable Object value) {
      if (value == null) {
        nulls++;
        return;
      }
      String text = text(value);
      int length = text.length();
      lengths[length == 0 ? 0 : 32 - Integer.numberOfLeadingZeros(length)]++;
      lengthSum += length;
      String key = FieldProfiler.cut(text);
      long[] counter = counters.get(key);
      if (counter != null) {
        counter[0]++;
      } else if (counters.size() < capacity) {
        counters.put(key, new long[] {1, 0});
      } else {
        evictInto(key);
      }
    }

    private static String text(Object value) {
      if (value instanceof String s) {
        return s;
      }
      try {
        return String.valueOf(value);
      } catch (RuntimeException e) {
        return value.getClass().getSimpleName();
      }
    }

    private void evictInto(String key) {
      String least = null;
      long leastCount = Long.MAX_VALUE;
      for (Map.Entry<String, long[]> e : counters.entrySet()) {
        if (e.getValue()[0] < leastCount) {
          leastCount = e.getValue()[0];
          least = e.getKey();
        }
      }
      long[] counter = counters.remove(least);
      counter[0] = leastCount + 1;
      counter[1] = leastCount;
      counters.put(key, counter);
    }

    @Override
    FieldProfile snapshot() {
      List<ValueCount> top = new ArrayList<>(counters.size());
      counters.forEach((value, c) -> top.add(new ValueCount(value, c[0], c[1])));
      top.sort(FieldProfile.BY_COUNT);
      return new FieldProfile(
          name,
          FieldProfile.Kind.CATEGORY,
          records,
          nulls,
          0,
          new int[0],
          new long[0],
          Double.NaN,
          Double.NaN,
          0,
          top,
          capacity,
          lengths.clone(),
          lengthSum);
    }

    @Override
    void reset() {
      counters.clear();
      Arrays.fill(lengths, 0);
      lengthSum = 0;
    }
  }
}
