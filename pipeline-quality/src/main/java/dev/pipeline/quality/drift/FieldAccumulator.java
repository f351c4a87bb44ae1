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
   * of the values in power-of-two bins. The counters form a binary min-heap by count, so that
   * counting a value costs O(log k) and finding the least counted one O(1).
   */
  static final class Categories<T> extends FieldAccumulator<T> {
    private final int capacity;
    private final Map<String, Counter> counters;
    private final Counter[] heap;
    private int size;
    private final long[] lengths = new long[FieldProfile.LENGTH_BINS];
    private long lengthSum;

    /** One value's counter and its place in the heap. */
    private static final class Counter {
      String value;
      long count;
      long error;
      int at;

      Counter(String value, int at) {
        this.value = value;
        this.count = 1;
        this.at = at;
      }
    }

    Categories(String name, Function<? super T, ?> field, int capacity) {
      super(name, field);
      this.capacity = capacity;
      this.counters = HashMap.newHashMap(capacity + 1);
      this.heap = new Counter[capacity];
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
      Counter counter = counters.get(key);
      if (counter != null) {
        counter.count++;
        down(counter.at);
      } else if (size < capacity) {
        counter = new Counter(key, size);
        heap[size++] = counter;
        counters.put(key, counter);
        up(counter.at);
      } else {
        Counter least = heap[0];
        counters.remove(least.value);
        least.value = key;
        least.error = least.count;
        least.count++;
        counters.put(key, least);
        down(0);
      }
    }

    private void up(int at) {
      Counter c = heap[at];
      while (at > 0) {
        int parent = (at - 1) >>> 1;
        if (heap[parent].count <= c.count) {
          break;
        }
        place(heap[parent], at);
        at = parent;
      }
      place(c, at);
    }

    private void down(int at) {
      Counter c = heap[at];
      while (true) {
        int child = 2 * at + 1;
        if (child >= size) {
          break;
        }
        if (child + 1 < size && heap[child + 1].count < heap[child].count) {
          child++;
        }
        if (heap[child].count >= c.count) {
          break;
        }
        place(heap[child], at);
        at = child;
      }
      place(c, at);
    }

    private void place(Counter c, int at) {
      heap[at] = c;
      c.at = at;
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

    @Override
    FieldProfile snapshot() {
      List<ValueCount> top = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        top.add(new ValueCount(heap[i].value, heap[i].count, heap[i].error));
      }
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
      Arrays.fill(heap, null);
      size = 0;
      Arrays.fill(lengths, 0);
      lengthSum = 0;
    }
  }
}
