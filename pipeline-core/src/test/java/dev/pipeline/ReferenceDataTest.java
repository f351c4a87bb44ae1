package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.pipeline.internal.ReferenceTables;
import dev.pipeline.metrics.ReferenceDataMetrics;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A pipeline's reference data caches, driven through the tables its stages look them up in. */
class ReferenceDataTest {
  private final FakeClock clock = new FakeClock();
  private final List<ReferenceTables> opened = new ArrayList<>();
  // Caffeine logs failed loads through System.Logger (java.util.logging here) unless told apart
  private final Logger caffeineLog = Logger.getLogger("com.github.benmanes.caffeine");
  private final Queue<LogRecord> caffeineRecords = new ConcurrentLinkedQueue<>();
  private final Handler caffeineHandler =
      new Handler() {
        @Override
        public void publish(LogRecord record) {
          caffeineRecords.add(record);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  @BeforeEach
  void listenToCaffeine() {
    caffeineLog.addHandler(caffeineHandler);
  }

  @AfterEach
  void close() {
    caffeineLog.removeHandler(caffeineHandler);
    opened.forEach(ReferenceTables::close);
  }

  private <K, V> ReferenceLookup<K, V> lookup(ReferenceData<K, V> data) {
    ReferenceTables tables =
        ReferenceTables.forPipeline(
            "rates", List.of(new ReferenceTables.Declared(data, List.of(CLEANING))), clock);
    opened.add(tables);
    return tables.lookup(data, CLEANING);
  }

  private ReferenceDataMetrics metrics() {
    return opened.get(0).snapshot().get(0);
  }

  @Test
  void lookupsCountHitsMissesLoadsAndLoadTimeOnThePipelineClock() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceLookup<String, Integer> rates =
        lookup(
            ReferenceData.named("eur-rates")
                .build(
                    (String code) -> {
                      calls.incrementAndGet();
                      clock.advance(Duration.ofMillis(5)); // a remote call taking 5 ms
                      return code.length();
                    }));

    assertThat(rates.get("USD")).isEqualTo(3);
    assertThat(rates.get("USD")).isEqualTo(3);
    assertThat(rates.get("USD")).isEqualTo(3);
    assertThat(rates.get("EURO")).isEqualTo(4);

    assertThat(calls).hasValue(2);
    ReferenceDataMetrics m = metrics();
    assertThat(m.name()).isEqualTo("eur-rates");
    assertThat(m.stages()).containsExactly("cleaning");
    assertThat(m.misses()).as("lookups that loaded").isEqualTo(2);
    assertThat(m.hits()).isEqualTo(2);
    assertThat(m.hitRate()).isEqualTo(0.5);
    assertThat(m.loads()).isEqualTo(2);
    assertThat(m.loadFailures()).isZero();
    assertThat(m.loadTime()).isEqualTo(Duration.ofMillis(10));
    assertThat(m.size()).isEqualTo(2);
    assertThat(m.evictions()).isZero();
  }

  @Test
  void aLoaderReturningNullMeansTheKeyHasNoValueAndThatIsCached() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceLookup<String, String> makes =
        lookup(
            ReferenceData.named("manufacturers")
                .build(
                    (String alias) -> {
                      calls.incrementAndGet();
                      return alias.equals("cat") ? "Caterpillar" : null;
                    }));

    ReferenceDataException missing =
        catchThrowableOfType(ReferenceDataException.class, () -> makes.get("acme"));
    assertThat(makes.find("acme")).isEmpty();
    assertThat(makes.find("cat")).contains("Caterpillar");
    assertThat(makes.getAll(List.of("cat", "acme")))
        .containsExactly(Map.entry("cat", "Caterpillar"));

    assertThat(missing.keyNotFound()).isTrue();
    assertThat(missing.getCause()).isNull();
    assertThat(missing.referenceData()).isEqualTo("manufacturers");
    assertThat(missing.key()).isEqualTo("acme");
    assertThat(missing.stage()).isEqualTo("cleaning");
    assertThat(missing)
        .hasMessage(
            "stage 'cleaning': reference data 'manufacturers' has no value for key 'acme' (its"
                + " loader found none); use find(key) where a key may have none");
    assertThat(calls).as("the unknown key was loaded once").hasValue(2);
  }

  @Test
  void aLoaderFailureReachesTheLookupNamingTheDataAndTheKeyAndIsNotCached() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceLookup<String, Long> rates =
        lookup(
            ReferenceData.named("eur-rates")
                .build(
                    (String code) -> {
                      if (calls.incrementAndGet() == 1) {
                        throw new IOException("rate service unavailable");
                      }
                      return 9_200L;
                    }));

    ReferenceDataException failed =
        catchThrowableOfType(ReferenceDataException.class, () -> rates.get("USD"));
    assertThat(rates.get("USD")).as("the next lookup loads again").isEqualTo(9_200L);

    assertThat(failed.keyNotFound()).isFalse();
    assertThat(failed.getCause()).isInstanceOf(IOException.class);
    assertThat(failed)
        .hasMessage(
            "stage 'cleaning' could not load from reference data 'eur-rates' key 'USD':"
                + " java.io.IOException: rate service unavailable");
    ReferenceDataMetrics m = metrics();
    assertThat(m.loads()).isEqualTo(2);
    assertThat(m.loadFailures()).isOne();
    assertThat(m.misses()).isEqualTo(2);
    assertThat(caffeineRecords).as("Caffeine's own log of the failure").isEmpty();
  }

  @Test
  void keysInErrorsAreCutAndEscaped() {
    ReferenceLookup<String, String> none =
        lookup(ReferenceData.named("phrases").build((String k) -> null));
    String hostile = "line\nbreak\u001B[31m" + "x".repeat(10_000);

    ReferenceDataException missing =
        catchThrowableOfType(ReferenceDataException.class, () -> none.get(hostile));

    assertThat(missing.key()).startsWith("line\\nbreak\\u001B[31mxxx").doesNotContain("\n");
    assertThat(missing.key().length()).isLessThan(300);
    assertThat(missing.getMessage()).doesNotContain("\n", "\u001B").hasSizeLessThan(500);
  }

  @Test
  void entriesExpireAfterWriteOnThePipelineClock() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceLookup<String, Integer> rates =
        lookup(
            ReferenceData.named("eur-rates")
                .expireAfterWrite(Duration.ofHours(1))
                .build((String code) -> calls.incrementAndGet()));

    assertThat(rates.get("USD")).isEqualTo(1);
    clock.advance(Duration.ofMinutes(59));
    assertThat(rates.get("USD")).as("not yet expired").isEqualTo(1);
    clock.advance(Duration.ofMinutes(2));
    assertThat(rates.get("USD")).as("expired: loaded again").isEqualTo(2);

    ReferenceDataMetrics m = metrics();
    assertThat(m.loads()).isEqualTo(2);
    assertThat(m.misses()).isEqualTo(2);
    assertThat(m.hits()).isOne();
    assertThat(m.evictions()).as("the expired entry").isOne();
  }

  @Test
  void aLoadedEntryIsStampedBeforeItsLookupReturnsSoAClockMovedAfterItExpiresIt() {
    // Caffeine stamps an entry's write time in a callback of the load's future, which may run just
    // after the waiting lookup woke up: moving the clock in between used to stamp the entry late
    AtomicInteger calls = new AtomicInteger();
    ReferenceLookup<Integer, Integer> numbers =
        lookup(
            ReferenceData.named("numbers")
                .expireAfterWrite(Duration.ofMinutes(10))
                .build((Integer i) -> calls.incrementAndGet()));

    for (int key = 0; key < 300; key++) {
      numbers.get(key);
      clock.advance(Duration.ofMinutes(11));
      numbers.get(key);
    }

    assertThat(calls).as("every entry expired and was loaded again").hasValue(600);
  }

  @Test
  void aFailedLoadIsGoneBeforeItsLookupFails() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceLookup<Integer, Integer> numbers =
        lookup(
            ReferenceData.named("numbers")
                .build(
                    (Integer i) -> {
                      if (calls.incrementAndGet() % 2 == 1) {
                        throw new IOException("every other call fails");
                      }
                      return i;
                    }));

    for (int key = 0; key < 300; key++) {
      int k = key;
      assertThatThrownBy(() -> numbers.get(k)).isInstanceOf(ReferenceDataException.class);
      assertThat(numbers.get(k)).as("loaded again, not the failure again").isEqualTo(k);
    }
  }

  @Test
  void theMaximumSizeEvictsEntries() {
    ReferenceLookup<Integer, Integer> squares =
        lookup(ReferenceData.named("squares").maximumSize(10).build((Integer i) -> i * i));

    for (int i = 0; i < 100; i++) {
      assertThat(squares.get(i)).isEqualTo(i * i);
    }

    ReferenceDataMetrics m = metrics();
    assertThat(m.size()).isEqualTo(10);
    assertThat(m.evictions()).isEqualTo(90);
  }

  @Test
  void refreshAheadAnswersWithTheOldValueUntilTheReloadFinishes() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch reloading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ReferenceLookup<String, String> rates =
        lookup(
            ReferenceData.named("eur-rates")
                .expireAfterWrite(Duration.ofHours(1))
                .refreshAfterWrite(Duration.ofMinutes(10))
                .build(
                    (String code) -> {
                      int call = calls.incrementAndGet();
                      if (call == 2) {
                        reloading.countDown();
                        release.await();
                      }
                      return code + "@v" + call;
                    }));

    assertThat(rates.get("USD")).isEqualTo("USD@v1");
    clock.advance(Duration.ofMinutes(11));
    assertThat(rates.get("USD")).as("stale, answered at once").isEqualTo("USD@v1");
    Await.on(reloading, "the reload in the background");
    assertThat(rates.get("USD")).as("while the reload runs").isEqualTo("USD@v1");
    assertThat(calls).as("one reload at a time").hasValue(2);

    release.countDown();
    Await.until("the reloaded value replaces the old one", () -> rates.get("USD").endsWith("v2"));

    ReferenceDataMetrics m = metrics();
    assertThat(m.loads()).isEqualTo(2);
    assertThat(m.refreshes()).isOne();
    assertThat(m.refreshFailures()).isZero();
    assertThat(m.misses()).as("only the first lookup waited for a load").isOne();
    Await.until("the background threads ended", () -> opened.get(0).running() == 0);
  }

  @Test
  void aFailedRefreshKeepsTheOldValueIsCountedAndWaitsAnIntervalBeforeTheNext() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceLookup<String, String> rates =
        lookup(
            ReferenceData.named("eur-rates")
                .expireAfterWrite(Duration.ofHours(1))
                .refreshAfterWrite(Duration.ofMinutes(10))
                .build(
                    (String code) -> {
                      int call = calls.incrementAndGet();
                      if (call == 2) {
                        throw new IOException("rate service unavailable");
                      }
                      return code + "@v" + call;
                    }));
    assertThat(rates.get("USD")).isEqualTo("USD@v1");

    clock.advance(Duration.ofMinutes(11));
    assertThat(rates.get("USD")).isEqualTo("USD@v1");
    Await.until("the refresh failed", () -> metrics().refreshFailures() == 1);
    for (int i = 0; i < 20; i++) {
      assertThat(rates.get("USD")).as("the old value stays").isEqualTo("USD@v1");
    }
    clock.advance(Duration.ofMinutes(9));
    assertThat(rates.get("USD")).isEqualTo("USD@v1");
    assertThat(calls).as("no reload within an interval of the failure").hasValue(2);

    clock.advance(Duration.ofMinutes(2));
    rates.get("USD"); // a whole interval after the failure: refreshed again
    Await.until("the second refresh replaced the value", () -> rates.get("USD").endsWith("v3"));

    ReferenceDataMetrics m = metrics();
    assertThat(m.loads()).isEqualTo(3);
    assertThat(m.loadFailures()).isOne();
    assertThat(m.refreshes()).isEqualTo(2);
    assertThat(m.refreshFailures()).isOne();
    assertThat(caffeineRecords).as("Caffeine's own log of the failure").isEmpty();
  }

  @Test
  void aFailedRefreshStillExpires() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceLookup<String, String> rates =
        lookup(
            ReferenceData.named("eur-rates")
                .expireAfterWrite(Duration.ofMinutes(30))
                .refreshAfterWrite(Duration.ofMinutes(10))
                .build(
                    (String code) -> {
                      int call = calls.incrementAndGet();
                      if (call == 2) {
                        throw new IOException("rate service unavailable");
                      }
                      return code + "@v" + call;
                    }));
    rates.get("USD");
    clock.advance(Duration.ofMinutes(11));
    rates.get("USD");
    Await.until("the refresh failed", () -> metrics().refreshFailures() == 1);

    clock.advance(Duration.ofMinutes(20));

    assertThat(rates.get("USD")).as("expired, then loaded").isEqualTo("USD@v3");
  }

  @Test
  void manyVirtualThreadsAskingForOneMissingKeyCauseOneLoad() throws Exception {
    int threads = 200;
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    ReferenceLookup<String, String> makes =
        lookup(
            ReferenceData.named("manufacturers")
                .build(
                    (String alias) -> {
                      calls.incrementAndGet();
                      release.await();
                      return "Caterpillar";
                    }));
    Queue<String> answers = new ConcurrentLinkedQueue<>();
    List<Thread> askers = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      askers.add(Thread.ofVirtual().start(() -> answers.add(makes.get("cat"))));
    }

    Await.until(
        "every thread asked while the load runs",
        () -> metrics().hits() + metrics().misses() == threads);
    release.countDown();
    for (Thread asker : askers) {
      Await.ended(asker);
    }

    assertThat(answers).hasSize(threads).containsOnly("Caterpillar");
    assertThat(calls).hasValue(1);
    ReferenceDataMetrics m = metrics();
    assertThat(m.loads()).isOne();
    assertThat(m.misses()).isOne();
    assertThat(m.hits()).as("they waited for the one load").isEqualTo(threads - 1);
  }

  @Test
  void anInterruptedWaitFailsTheLookupAndKeepsTheInterrupt() throws Exception {
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ReferenceLookup<String, String> makes =
        lookup(
            ReferenceData.named("manufacturers")
                .build(
                    (String alias) -> {
                      loading.countDown();
                      release.await();
                      return "Caterpillar";
                    }));
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    AtomicReference<Boolean> interrupted = new AtomicReference<>();
    Thread asker =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    makes.get("cat");
                  } catch (ReferenceDataException e) {
                    thrown.set(e);
                    interrupted.set(Thread.currentThread().isInterrupted());
                  }
                });
    Await.on(loading, "the load");

    asker.interrupt();
    Await.ended(asker);
    release.countDown();

    assertThat(thrown.get())
        .isInstanceOf(ReferenceDataException.class)
        .hasMessageStartingWith(
            "stage 'cleaning' was interrupted while waiting for reference data 'manufacturers' key"
                + " 'cat'")
        .hasCauseInstanceOf(InterruptedException.class);
    assertThat(interrupted.get()).isTrue();
    Await.until("the load went on for the next lookup", () -> metrics().loads() == 1);
    assertThat(makes.get("cat")).isEqualTo("Caterpillar");
  }

  @Test
  void aBulkLoaderLoadsTheKeysALookupMissesInOneCall() {
    List<Set<String>> calls = new ArrayList<>();
    ReferenceLookup<String, Integer> lengths =
        lookup(
            ReferenceData.named("lengths")
                .buildBulk(
                    (Set<String> words) -> {
                      calls.add(words);
                      Map<String, Integer> found = new HashMap<>();
                      for (String word : words) {
                        if (!word.startsWith("?")) {
                          found.put(word, word.length());
                        }
                      }
                      found.put("not-asked", 0);
                      return found;
                    }));

    assertThat(lengths.getAll(List.of("a", "bb", "?x")))
        .containsExactly(Map.entry("a", 1), Map.entry("bb", 2));
    assertThat(metrics().size()).as("keys not asked for are not cached").isEqualTo(3);
    assertThat(lengths.getAll(List.of("bb", "ccc", "?x")))
        .containsExactly(Map.entry("bb", 2), Map.entry("ccc", 3));
    assertThat(lengths.get("dddd")).isEqualTo(4);
    assertThat(lengths.find("?y")).isEmpty();

    assertThat(calls)
        .containsExactly(Set.of("a", "bb", "?x"), Set.of("ccc"), Set.of("dddd"), Set.of("?y"));
    assertThat(metrics().loads()).isEqualTo(4);
  }

  @Test
  void aFailedBulkLoadNamesSomeOfItsKeys() {
    ReferenceLookup<Integer, Integer> numbers =
        lookup(
            ReferenceData.named("numbers")
                .buildBulk(
                    (Set<Integer> keys) -> {
                      throw new IOException("down");
                    }));
    List<Integer> keys = List.of(1, 2, 3, 4, 5, 6, 7, 8);

    ReferenceDataException failed =
        catchThrowableOfType(ReferenceDataException.class, () -> numbers.getAll(keys));

    assertThat(failed.key()).isEqualTo("[1, 2, 3, 4, 5, … 3 more]");
    assertThat(failed)
        .hasMessage(
            "stage 'cleaning' could not load from reference data 'numbers' keys [1, 2, 3, 4, 5, …"
                + " 3 more]: java.io.IOException: down")
        .hasCauseInstanceOf(IOException.class);
    assertThat(caffeineRecords).isEmpty();
  }

  @Test
  void closingStopsTheLoadsRunningInTheBackgroundAndKeepsTheValues() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch reloading = new CountDownLatch(1);
    CountDownLatch never = new CountDownLatch(1);
    ReferenceLookup<String, String> rates =
        lookup(
            ReferenceData.named("eur-rates")
                .refreshAfterWrite(Duration.ofMinutes(10))
                .build(
                    (String code) -> {
                      if (calls.incrementAndGet() == 2) {
                        reloading.countDown();
                        never.await(); // a reload that would hang without an interrupt
                      }
                      return code + "@v" + calls.get();
                    }));
    rates.get("USD");
    clock.advance(Duration.ofMinutes(11));
    rates.get("USD");
    Await.on(reloading, "the reload");

    opened.get(0).close();

    assertThat(metrics().refreshFailures()).as("the reload was interrupted and waited for").isOne();
    assertThat(rates.get("USD")).isEqualTo("USD@v1");
    Await.until("the background threads ended", () -> opened.get(0).running() == 0);
  }

  @Test
  void lookingUpDataNotDeclaredForTheStageSaysWhereToDeclareIt() {
    ReferenceData<String, String> declared = ReferenceData.named("makes").build(k -> k);
    ReferenceData<String, String> sameName = ReferenceData.named("makes").build(k -> k);
    ReferenceData<String, String> other = ReferenceData.named("phrases").build(k -> k);
    lookup(declared);
    ReferenceTables tables = opened.get(0);

    assertThatThrownBy(() -> tables.lookup(other, CLEANING))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "stage 'cleaning' looked up reference data 'phrases', which pipeline 'rates' does not"
                + " declare; declare it with referenceData(...) on the pipeline's builder for every"
                + " stage, or on this stage's options with s.referenceData(...)");
    assertThatThrownBy(() -> tables.lookup(sameName, CLEANING))
        .hasMessageContaining("it declares another one of that name");
    assertThatThrownBy(() -> tables.lookup(declared, StageName.EXTRACTION))
        .hasMessage(
            "stage 'extraction' looked up reference data 'makes', which pipeline 'rates' declares"
                + " for stages [cleaning] only; declare it on this stage's options too"
                + " (s.referenceData(...)), or once for every stage on the pipeline's builder");
  }

  @Test
  void theCaffeineLoggerHearsOfNothingWhenNothingFails() {
    ReferenceLookup<String, String> same = lookup(ReferenceData.named("same").build(k -> k));
    same.get("a");
    assertThat(caffeineRecords).isEmpty();
    assertThat(caffeineLog.isLoggable(Level.WARNING))
        .as("the check above could see warnings")
        .isTrue();
  }
}
