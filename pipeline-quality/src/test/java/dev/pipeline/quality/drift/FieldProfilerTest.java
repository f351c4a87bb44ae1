package dev.pipeline.quality.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.pipeline.StageContext;
import dev.pipeline.testkit.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class FieldProfilerTest {

  record Listing(@Nullable Double price, @Nullable String currency) {}

  private final ManualClock clock = ManualClock.create();

  private FieldProfiler.Builder<Listing> builder() {
    return FieldProfiler.<Listing>builder("extraction")
        .clock(clock)
        .window(Duration.ofMinutes(5))
        .number("price", Listing::price)
        .category("currency", Listing::currency);
  }

  @Test
  void aWindowClosesOnTheFirstRecordAfterItsTimeAndGoesToTheListeners() {
    List<WindowProfile> seen = new ArrayList<>();
    FieldProfiler<Listing> profiler = builder().onWindow(seen::add).build();
    profiler.observe(new Listing(10.0, "EUR"));
    profiler.observe(new Listing(null, "EUR"));
    profiler.observe(new Listing(30.0, null));
    clock.advance(Duration.ofMinutes(4));
    profiler.observe(new Listing(20.0, "USD"));
    assertThat(seen).as("the window is still open after 4 minutes").isEmpty();

    clock.advance(Duration.ofMinutes(1));
    profiler.observe(new Listing(99.0, "GBP"));

    assertThat(seen).hasSize(1);
    WindowProfile window = seen.get(0);
    assertThat(window.records()).isEqualTo(4);
    assertThat(window.start()).isEqualTo(ManualClock.DEFAULT_START);
    assertThat(window.end()).isEqualTo(ManualClock.DEFAULT_START.plus(Duration.ofMinutes(5)));
    FieldProfile price = window.fields().get("price");
    assertThat(price.records()).isEqualTo(4);
    assertThat(price.nullRate()).isEqualTo(0.25);
    assertThat(price.mean()).isCloseTo(20.0, within(1e-9));
    assertThat(price.min()).isEqualTo(10.0);
    assertThat(price.max()).isEqualTo(30.0);
    FieldProfile currency = window.fields().get("currency");
    assertThat(currency.topValues())
        .containsExactly(new ValueCount("EUR", 2, 0), new ValueCount("USD", 1, 0));
    assertThat(currency.meanLength()).isEqualTo(3.0);

    WindowProfile last = profiler.roll();
    assertThat(last).isNotNull();
    assertThat(last.records()).as("the record that closed the window opens the next").isEqualTo(1);
    assertThat(profiler.roll()).as("an empty window is not emitted").isNull();
    assertThat(profiler.windows()).hasSize(2);
  }

  @Test
  void memoryStaysBoundedUnderAMillionDistinctValuesAndHeavyHittersSurvive() {
    FieldProfiler<Listing> profiler = builder().build();
    for (int i = 0; i < 1_000_000; i++) {
      String currency = i % 10 == 0 ? "EUR" : "v" + i;
      profiler.observe(new Listing((double) i, currency));
    }
    WindowProfile window = profiler.roll();
    FieldProfile currency = window.fields().get("currency");
    assertThat(currency.topValues()).hasSize(64);
    ValueCount first = currency.topValues().get(0);
    assertThat(first.value()).isEqualTo("EUR");
    assertThat(first.count() - first.error())
        .as("a value seen 10% of the time keeps a guaranteed count")
        .isLessThanOrEqualTo(100_000)
        .isGreaterThan(80_000);
    assertThat(first.count()).isGreaterThanOrEqualTo(100_000);
    FieldProfile price = window.fields().get("price");
    assertThat(price.bins().length).isLessThanOrEqualTo(NumberBins.COUNT);
    assertThat(price.quantile(0.5)).isCloseTo(500_000, within(500_000 * 0.07));
  }

  @Test
  void theSummaryKeepsSpaceSavingGuaranteesOnASkewedStream() {
    FieldProfiler<Listing> profiler =
        FieldProfiler.<Listing>builder("s")
            .clock(clock)
            .topValues(16) // for the category fields declared after it
            .category("currency", Listing::currency)
            .build();
    java.util.Map<String, Long> exact = new java.util.HashMap<>();
    java.util.SplittableRandom random = new java.util.SplittableRandom(17);
    int n = 200_000;
    for (int i = 0; i < n; i++) {
      // a Zipf-like stream: value v with weight about 1 / (v + 1), over 5,000 values
      int v = (int) Math.floor(Math.exp(random.nextDouble() * Math.log(5_000))) - 1;
      String value = "v" + v;
      exact.merge(value, 1L, Long::sum);
      profiler.observe(new Listing(1.0, value));
    }
    List<ValueCount> top = profiler.roll().fields().get("currency").topValues();
    assertThat(top).hasSize(16);
    for (ValueCount v : top) {
      long truth = exact.getOrDefault(v.value(), 0L);
      assertThat(v.count())
          .as("count of %s is an upper bound", v.value())
          .isGreaterThanOrEqualTo(truth);
      assertThat(v.count() - v.error())
          .as("count − error of %s is a lower bound", v.value())
          .isLessThanOrEqualTo(truth);
    }
    exact.forEach(
        (value, count) -> {
          if (count > n / 16) {
            assertThat(top)
                .as("%s seen %d times", value, count)
                .extracting(ValueCount::value)
                .contains(value);
          }
        });
  }

  @Test
  void addedSummariesKeepTheirBoundsWhenBothEvicted() {
    FieldProfiler<Listing> profiler =
        FieldProfiler.<Listing>builder("s")
            .clock(clock)
            .topValues(8)
            .category("currency", Listing::currency)
            .build();
    java.util.Map<String, Long> exact = new java.util.HashMap<>();
    java.util.SplittableRandom random = new java.util.SplittableRandom(23);
    List<FieldProfile> windows = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      for (int i = 0; i < 20_000; i++) {
        // the heavy values differ between the windows: w0 favours v0..v3, w1 v2..v5
        int v = random.nextInt(4) == 0 ? random.nextInt(200) : 2 * w + random.nextInt(4);
        exact.merge("v" + v, 1L, Long::sum);
        profiler.observe(new Listing(1.0, "v" + v));
      }
      windows.add(profiler.roll().fields().get("currency"));
    }
    FieldProfile sum = windows.get(0).plus(windows.get(1));
    assertThat(sum.topValues()).hasSize(8);
    for (ValueCount v : sum.topValues()) {
      long truth = exact.getOrDefault(v.value(), 0L);
      assertThat(v.count()).as("%s: upper bound", v.value()).isGreaterThanOrEqualTo(truth);
      assertThat(v.count() - v.error()).as("%s: lower bound", v.value()).isLessThanOrEqualTo(truth);
    }
    assertThat(sum.topValues().subList(0, 6))
        .extracting(ValueCount::value)
        .containsExactlyInAnyOrder("v0", "v1", "v2", "v3", "v4", "v5");
  }

  @Test
  void aHugeValueIsCountedUnderItsPrefixAndItsLengthIsKept() {
    FieldProfiler<Listing> profiler = builder().build();
    String huge = "<script>".repeat(131_072); // 1 MiB
    profiler.observe(new Listing(1.0, huge));
    profiler.observe(new Listing(1.0, huge));
    FieldProfile currency = profiler.roll().fields().get("currency");
    assertThat(currency.topValues()).hasSize(1);
    assertThat(currency.topValues().get(0).value()).hasSize(FieldProfiler.MAX_VALUE_CHARS);
    assertThat(currency.topValues().get(0).count()).isEqualTo(2);
    assertThat(currency.meanLength()).isEqualTo(1_048_576.0);
  }

  @Test
  void aThrowingGetterOrAWrongTypeDoesNotHurtTheRecord() {
    FieldProfiler<Listing> profiler =
        FieldProfiler.<Listing>builder("s")
            .clock(clock)
            .number(
                "boom",
                l -> {
                  throw new IllegalStateException("getter broke");
                })
            .number("text", Listing::currency)
            .build();
    profiler.observe(new Listing(1.0, "EUR"));
    WindowProfile window = profiler.roll();
    assertThat(window.fields().get("boom").nulls()).isEqualTo(1);
    assertThat(window.fields().get("text").invalid()).isEqualTo(1);
    assertThat(window.fields().get("text").values()).isZero();
  }

  @Test
  void concurrentObserversLoseNoRecord() throws Exception {
    FieldProfiler<Listing> profiler = builder().build();
    int threads = 8;
    int each = 20_000;
    CountDownLatch start = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < each; i++) {
                    profiler.observe(new Listing((double) i, "c" + id));
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get();
      }
    }
    WindowProfile window = profiler.roll();
    assertThat(window.records()).isEqualTo((long) threads * each);
    assertThat(window.fields().get("price").values()).isEqualTo((long) threads * each);
    assertThat(window.fields().get("currency").topValues())
        .hasSize(threads)
        .allSatisfy(v -> assertThat(v.count()).isEqualTo(each));
  }

  @Test
  void windowsRolledByManyThreadsAreEachEmittedOnce() throws Exception {
    List<WindowProfile> seen = new CopyOnWriteArrayList<>();
    FieldProfiler<Listing> profiler = builder().onWindow(seen::add).build();
    for (int round = 0; round < 20; round++) {
      CountDownLatch start = new CountDownLatch(1);
      try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int t = 0; t < 4; t++) {
          pool.submit(
              () -> {
                start.await();
                for (int i = 0; i < 100; i++) {
                  profiler.observe(new Listing(1.0, "EUR"));
                }
                return null;
              });
        }
        start.countDown();
      }
      clock.advance(Duration.ofMinutes(5));
    }
    profiler.roll();
    assertThat(seen).hasSize(20);
    assertThat(seen.stream().mapToLong(WindowProfile::records).sum()).isEqualTo(20 * 400);
  }

  @Test
  void profilesAddUp() {
    FieldProfiler<Listing> profiler = builder().build();
    profiler.observe(new Listing(1.0, "EUR"));
    WindowProfile a = profiler.roll();
    profiler.observe(new Listing(3.0, "EUR"));
    profiler.observe(new Listing(null, "USD"));
    WindowProfile b = profiler.roll();
    WindowProfile sum = a.plus(b);
    assertThat(sum.records()).isEqualTo(3);
    assertThat(sum.fields().get("price").mean()).isEqualTo(2.0);
    assertThat(sum.fields().get("price").nulls()).isEqualTo(1);
    assertThat(sum.fields().get("currency").topValues())
        .containsExactly(new ValueCount("EUR", 2, 0), new ValueCount("USD", 1, 0));
  }

  @Test
  void theObservingStageProfilesOutputsAndPassesThemOn() throws Exception {
    FieldProfiler<Listing> profiler = builder().build();
    var stage = profiler.observing((String in, StageContext c) -> new Listing(2.0, in));
    assertThat(stage.process("EUR", null)).isEqualTo(new Listing(2.0, "EUR"));
    Listing through = new Listing(5.0, "USD");
    assertThat(profiler.passThrough().process(through, null)).isSameAs(through);
    assertThat(profiler.roll().records()).isEqualTo(2);
  }

  @Test
  void badConfigurationIsRefusedWithTheRange() {
    assertThatThrownBy(() -> FieldProfiler.<Listing>builder("s").topValues(0))
        .hasMessageContaining("[1, 1024]");
    assertThatThrownBy(() -> FieldProfiler.<Listing>builder("s").window(Duration.ZERO))
        .hasMessageContaining("[1 ms, 7 days]");
    assertThatThrownBy(() -> builder().number("price", Listing::price))
        .hasMessageContaining("'price' is profiled twice");
    assertThatThrownBy(() -> FieldProfiler.<Listing>builder("s").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no field");
  }
}
