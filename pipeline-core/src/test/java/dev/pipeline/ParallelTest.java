package dev.pipeline;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.TRANSLATION;
import static dev.pipeline.StageName.VALIDATION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.engine.run.CallContext;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.helpers.NOPLogger;

/**
 * A fan-out runs its branches at once, each through the engine's call path with its own policies,
 * and joins them; a branch's failure, filter or timeout and the stage's own interrupts reach the
 * record and every branch, and no branch thread outlives its call.
 */
class ParallelTest {
  private static final StageName ENRICH = StageName.of("enrich");
  private static final List<String> IDS = List.of("r1", "r2", "r3");

  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();
  private final CountDownLatch release = new CountDownLatch(1);

  /** Every thread a branch ran on, to check that none outlives its call. */
  private final Set<Thread> branchThreads = ConcurrentHashMap.newKeySet();

  @AfterEach
  void releaseStuckCalls() {
    release.countDown();
  }

  /** Calls the fan-out as the engine calls a stage: with a worker's context of the record. */
  private static <O> O call(Stage<String, O> stage, String id, String payload, int attempt)
      throws Exception {
    CallContext context = context(id, payload, attempt, Map.of());
    return stage.process(payload, context);
  }

  private static CallContext context(
      String id, String payload, int attempt, Map<String, String> metadata) {
    CallContext context =
        new CallContext(
            "test",
            ENRICH,
            NOPLogger.NOP_LOGGER,
            PipelineClock.system(),
            dev.pipeline.internal.ReferenceTables.none());
    Envelope<Object> record = Envelope.<Object>of(id, payload).withAllMetadata(metadata);
    context.reset(record, attempt);
    return context;
  }

  /** A branch stage that notes its thread, then does {@code work}. */
  private <O> Stage<String, O> noted(Stage<String, O> work) {
    return (s, c) -> {
      branchThreads.add(Thread.currentThread());
      return work.process(s, c);
    };
  }

  /** Asserts that no branch thread but {@code worker}s is alive. */
  private void assertBranchThreadsEnded(Set<Thread> workers) {
    Set<Thread> others = ConcurrentHashMap.newKeySet();
    others.addAll(branchThreads);
    others.removeAll(workers);
    assertThat(others).as("branch threads").isNotEmpty();
    Await.until("every branch thread has ended", () -> others.stream().noneMatch(Thread::isAlive));
  }

  private static Source<String> source(List<String> ids) {
    return Source.of("src", ids.iterator(), id -> id);
  }

  record Listing(String text) {}

  record Sentiment(String label) {}

  record Enriched(Sentiment sentiment, String translation) {}

  /** The example of {@link Parallel}'s javadoc. */
  @Test
  void theClassExampleRuns() {
    Stage<Listing, Sentiment> analysis =
        (listing, context) -> new Sentiment(listing.text().contains("great") ? "positive" : "none");
    Stage<Listing, String> translation =
        (listing, context) -> {
          if (listing.text().contains("untranslatable")) {
            throw new IOException("no translation");
          }
          return listing.text().toUpperCase();
        };
    Parallel<Listing, Enriched> enrich =
        Parallel.join(
            Parallel.branch(
                StageName.ANALYSIS,
                analysis,
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(2)))),
            Parallel.branch(
                StageName.TRANSLATION,
                translation,
                o ->
                    o.timeout(Duration.ofSeconds(2))
                        .fallback(
                            Fallback.to(
                                (Listing listing, Throwable cause, StageContext context) ->
                                    listing.text()))),
            Enriched::new);
    Queue<Envelope<Enriched>> enriched = new ConcurrentLinkedQueue<>();

    RunResult result =
        Pipeline.builder("listings", Listing.class)
            .stage(StageName.of("enrich"), enrich, o -> o.timeout(Duration.ofSeconds(10)))
            .sink(enriched::addAll)
            .clock(clock)
            .build()
            .run(
                Source.of(
                    "listings",
                    List.of(new Listing("a great house"), new Listing("an untranslatable shed"))
                        .iterator()));

    assertThat(result.published()).isEqualTo(2);
    assertThat(enriched)
        .extracting(Envelope::payload)
        .containsExactly(
            new Enriched(new Sentiment("positive"), "A GREAT HOUSE"),
            new Enriched(new Sentiment("none"), "an untranslatable shed"));
  }

  @Test
  void branchesRunAtOnceAndTheJoinGetsTheirResultsInBranchOrder() throws Exception {
    CyclicBarrier all = new CyclicBarrier(3);
    Parallel<String, String> fanOut =
        Parallel.join(
            Parallel.branch(
                ANALYSIS,
                noted(
                    (String s, StageContext c) -> {
                      all.await(Await.DEADLINE.toNanos(), TimeUnit.NANOSECONDS);
                      return s.length();
                    })),
            Parallel.branch(
                TRANSLATION,
                noted(
                    (String s, StageContext c) -> {
                      all.await(Await.DEADLINE.toNanos(), TimeUnit.NANOSECONDS);
                      return s.toUpperCase();
                    })),
            Parallel.branch(
                VALIDATION,
                noted(
                    (String s, StageContext c) -> {
                      all.await(Await.DEADLINE.toNanos(), TimeUnit.NANOSECONDS);
                      return !s.isEmpty();
                    })),
            (Integer length, String upper, Boolean valid) -> upper + ":" + length + ":" + valid);

    assertThat(call(fanOut, "r1", "hello", 1)).isEqualTo("HELLO:5:true");
    assertThat(branchThreads).as("three branches, three threads").hasSize(3);
    // the worker ran a branch itself and waited for the others' threads to end
    assertThat(branchThreads).contains(Thread.currentThread());
    branchThreads.remove(Thread.currentThread());
    assertThat(branchThreads).noneMatch(Thread::isAlive);
  }

  @Test
  void theWorkerRunsTheBranchWhoseCallsTookLongestItself() throws Exception {
    Thread worker = Thread.currentThread();
    Map<String, Thread> threadOf = new ConcurrentHashMap<>();
    Parallel<String, String> fanOut =
        Parallel.join(
                Parallel.branch(
                    ANALYSIS,
                    (String s, StageContext c) -> {
                      threadOf.put(s + "/analysis", Thread.currentThread());
                      return s;
                    }),
                Parallel.branch(
                    TRANSLATION,
                    (String s, StageContext c) -> {
                      threadOf.put(s + "/translation", Thread.currentThread());
                      if (s.equals("first")) {
                        // once the worker waits, its own call has been timed: this one is longer
                        Await.until(
                            "the worker waits", () -> worker.getState() == Thread.State.WAITING);
                        clock.advance(Duration.ofMillis(10));
                      }
                      return s;
                    }),
                (String a, String t) -> a + t)
            .bind(clock);

    call(fanOut, "first", "first", 1);
    call(fanOut, "second", "second", 1);

    assertThat(threadOf.get("first/analysis")).as("at first, the first branch").isSameAs(worker);
    assertThat(threadOf.get("first/translation")).isNotSameAs(worker);
    assertThat(threadOf.get("second/translation"))
        .as("then the one that took longest")
        .isSameAs(worker);
    assertThat(threadOf.get("second/analysis")).isNotSameAs(worker);
  }

  @Test
  void joinAllGetsTheResultsAsAListInBranchOrder() throws Exception {
    List<Parallel.Branch<String, String>> branches = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      String tag = "b" + i;
      branches.add(Parallel.branch(StageName.of(tag), (String s, StageContext c) -> s + "-" + tag));
    }
    Parallel<String, String> fanOut =
        Parallel.joinAll(branches, (List<String> results) -> String.join(",", results));

    assertThat(call(fanOut, "r1", "x", 1)).isEqualTo("x-b1,x-b2,x-b3,x-b4,x-b5");
  }

  @Test
  void eachBranchRetriesByItsOwnPolicyBackingOffOnTheBoundClock() throws Exception {
    List<Integer> analysisAttempts = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger translationCalls = new AtomicInteger();
    Parallel<String, String> fanOut =
        Parallel.join(
                Parallel.branch(
                    ANALYSIS,
                    (String s, StageContext c) -> {
                      analysisAttempts.add(c.attempt());
                      if (c.attempt() < 3) {
                        throw new IOException("analyser busy");
                      }
                      return "positive";
                    },
                    o ->
                        o.retry(
                            RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))),
                Parallel.branch(
                    TRANSLATION,
                    (String s, StageContext c) -> {
                      translationCalls.incrementAndGet();
                      return "hallo";
                    }),
                (String a, String t) -> a + "/" + t)
            .bind(clock);

    assertThat(call(fanOut, "r1", "hello", 1)).isEqualTo("positive/hallo");
    assertThat(analysisAttempts).as("the branch's own attempts").containsExactly(1, 2, 3);
    assertThat(translationCalls).as("the other branch is not retried").hasValue(1);
    assertThat(clock.sleeps())
        .as("back-offs on the bound clock")
        .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));
  }

  @Test
  void aBranchWithoutRetriesFailsTheRecordAtItsFirstErrorNamingIt() {
    AtomicInteger analysisCalls = new AtomicInteger();
    Parallel<String, String> fanOut =
        Parallel.join(
                Parallel.branch(
                    ANALYSIS,
                    (String s, StageContext c) -> {
                      analysisCalls.incrementAndGet();
                      return "positive";
                    },
                    o ->
                        o.retry(
                            RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))),
                Parallel.branch(
                    TRANSLATION,
                    (String s, StageContext c) -> {
                      throw new IOException("translator down");
                    }),
                (String a, String t) -> a + "/" + t)
            .bind(clock);

    assertThatThrownBy(() -> call(fanOut, "r7", "hello", 1))
        .isInstanceOfSatisfying(
            BranchFailedException.class,
            e -> {
              assertThat(e.branch()).isEqualTo("translation");
              assertThat(e.stage()).isEqualTo("enrich");
              assertThat(e.recordId()).isEqualTo("r7");
              assertThat(e.attempts()).isOne();
            })
        .hasCauseInstanceOf(IOException.class)
        .hasMessageContaining(
            "branch 'translation' of stage 'enrich' gave up on record 'r7' after 1 attempt:"
                + " java.io.IOException: translator down");
    assertThat(clock.sleeps()).as("nothing was retried").isEmpty();
  }

  @Test
  void anOpenCircuitInABranchPassesRecordsThroughItsFallbackMarkedDegraded() throws Exception {
    AtomicInteger translationCalls = new AtomicInteger();
    Parallel<String, String> fanOut =
        Parallel.join(
                Parallel.branch(ANALYSIS, (String s, StageContext c) -> "positive"),
                Parallel.branch(
                    TRANSLATION,
                    (String s, StageContext c) -> {
                      translationCalls.incrementAndGet();
                      throw new IOException("translator down");
                    },
                    o ->
                        o.circuitBreaker(
                                CircuitBreaker.failureRate(1.0)
                                    .minCalls(2)
                                    .window(2)
                                    .openFor(Duration.ofMinutes(1)))
                            .fallback(
                                Fallback.to(
                                    (String s, Throwable cause, StageContext c) ->
                                        "untranslated ("
                                            + cause.getClass().getSimpleName()
                                            + ")"))),
                (String a, String t) -> a + "/" + t)
            .bind(clock);

    List<String> outputs = new ArrayList<>();
    List<Map<String, String>> added = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      CallContext context = context("r" + i, "hello", 1, Map.of(Fallback.DEGRADED, "cleaning"));
      outputs.add(fanOut.process("hello", context));
      added.add(context.added());
    }

    assertThat(outputs)
        .containsExactly(
            "positive/untranslated (IOException)",
            "positive/untranslated (IOException)",
            "positive/untranslated (CircuitOpenException)",
            "positive/untranslated (CircuitOpenException)");
    assertThat(translationCalls).as("calls while the circuit was closed").hasValue(2);
    assertThat(added)
        .as("each record marked degraded after the stages it skipped before")
        .allSatisfy(
            m -> assertThat(m).containsEntry(Fallback.DEGRADED, "cleaning,enrich/translation"));

    clock.advance(Duration.ofMinutes(1).plusMillis(1));
    assertThat(call(fanOut, "r5", "hello", 1)).isEqualTo("positive/untranslated (IOException)");
    assertThat(translationCalls).as("a trial call once the bound clock passed openFor").hasValue(3);
  }

  @Test
  void eachPipelineBuiltWithAFanOutGetsCircuitsOfItsOwnAndPublishesTheDegradedMark() {
    AtomicInteger translationCalls = new AtomicInteger();
    Parallel<String, String> fanOut =
        Parallel.join(
            Parallel.branch(ANALYSIS, (String s, StageContext c) -> s + ":positive"),
            Parallel.branch(
                TRANSLATION,
                (String s, StageContext c) -> {
                  translationCalls.incrementAndGet();
                  throw new IOException("translator down");
                },
                o ->
                    o.circuitBreaker(
                            CircuitBreaker.failureRate(1.0)
                                .minCalls(2)
                                .window(2)
                                .openFor(Duration.ofMinutes(1)))
                        .fallback(Fallback.skip())),
            (String a, String t) -> a + "/" + t);

    for (String name : List.of("fan-out-first", "fan-out-second")) {
      sink.clear();
      Pipeline<String, String> pipeline =
          Pipeline.builder(name, String.class)
              .stage(ENRICH, fanOut, o -> o.batchSize(1))
              .sink(sink::addAll)
              .clock(clock)
              .build();
      RunResult result = pipeline.run(source(List.of("r1", "r2", "r3", "r4", "r5")));

      assertThat(result.published()).as(name).isEqualTo(5);
      assertThat(sink)
          .as(name)
          .allSatisfy(
              e -> {
                assertThat(e.payload()).isEqualTo(e.id() + ":positive/" + e.id());
                assertThat(e.metadata()).containsEntry(Fallback.DEGRADED, "enrich/translation");
              });
    }
    assertThat(translationCalls)
        .as("two calls opened each pipeline's own circuit, on the fake clock")
        .hasValue(4);
  }

  @ParameterizedTest
  @ValueSource(strings = {"analysis", "translation"})
  void aBranchThatGivesUpDeadLettersTheRecordNamingItAndInterruptsTheOthers(String failing)
      throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch interrupted = new CountDownLatch(1);
    Map<String, Boolean> interruptedOnEntry = new ConcurrentHashMap<>();
    Set<Thread> workers = ConcurrentHashMap.newKeySet();
    Stage<String, String> blocks =
        noted(
            (s, c) -> {
              if (s.equals("r2")) {
                entered.countDown();
                try {
                  release.await();
                } catch (InterruptedException e) {
                  interrupted.countDown();
                  throw e;
                }
              }
              return s + ":ok";
            });
    Stage<String, String> fails =
        noted(
            (s, c) -> {
              if (s.equals("r2")) {
                Await.on(entered, "the other branch's call");
                throw new IOException("service down");
              }
              return s + ":ok";
            });
    Stage<String, String> analysis = failing.equals("analysis") ? fails : blocks;
    Stage<String, String> translation = failing.equals("analysis") ? blocks : fails;
    Parallel<String, String> fanOut =
        Parallel.join(
            Parallel.branch(
                ANALYSIS,
                (String s, StageContext c) -> {
                  // on the fake clock calls take no time: the worker runs the first branch
                  workers.add(Thread.currentThread());
                  interruptedOnEntry.put(s, Thread.currentThread().isInterrupted());
                  return analysis.process(s, c);
                }),
            Parallel.branch(TRANSLATION, translation),
            (String a, String t) -> a + "+" + t);
    Pipeline<String, String> pipeline =
        Pipeline.builder("fan-out-gives-up-" + failing, String.class)
            .stage(ENRICH, fanOut, o -> o.batchSize(10))
            .sink(sink::addAll)
            .clock(clock)
            .build();

    RunResult result = Await.result(pipeline.start(source(IDS)));

    Await.on(interrupted, "the interrupt of the other branch");
    DeadLetter dead = Outcomes.deadLetter(pipeline, "r2");
    assertThat(dead.stage()).isEqualTo("enrich");
    assertThat(dead.lastError().errorType()).isEqualTo("BranchFailedException");
    assertThat(dead.lastError().message())
        .contains(
            "branch '"
                + failing
                + "' of stage 'enrich' gave up on record 'r2' after 1 attempt:"
                + " java.io.IOException: service down; the other branches were interrupted");
    assertThat(sink).extracting(Envelope::payload).containsExactly("r1:ok+r1:ok", "r3:ok+r3:ok");
    assertThat(interruptedOnEntry)
        .as("no interrupt left on the worker for the next record")
        .containsEntry("r3", false);
    Outcomes.assertEachEndedOnce(pipeline, result, IDS, sink);
    assertBranchThreadsEnded(workers);
  }

  /**
   * A branch that gives up interrupts the worker while it runs a branch itself; a stage there that
   * keeps the interrupt (restores the flag) must not hand it to the worker's next call. Repeated,
   * since the flag outlives the call only when the other branch's thread has ended before the
   * worker waits for it.
   */
  @Test
  void anInterruptTheWorkersOwnBranchKeptDoesNotOutliveTheCall() throws Exception {
    for (int i = 0; i < 50; i++) {
      CountDownLatch entered = new CountDownLatch(1);
      Parallel<String, String> fanOut =
          Parallel.join(
              Parallel.branch(
                  ANALYSIS,
                  (String s, StageContext c) -> {
                    entered.countDown();
                    try {
                      release.await();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt(); // kept, as a stage may do
                    }
                    return s;
                  }),
              Parallel.branch(
                  TRANSLATION,
                  (String s, StageContext c) -> {
                    Await.on(entered, "the analysis call");
                    throw new IOException("translator down");
                  }),
              (String a, String t) -> a + t);

      String id = "r" + i;
      assertThatThrownBy(() -> call(fanOut, id, "x", 1)).isInstanceOf(BranchFailedException.class);
      assertThat(Thread.interrupted()).as("the worker's interrupt flag after call %d", i).isFalse();
    }
  }

  @Test
  void callsCutShortByAnotherBranchGivingUpDoNotOpenTheirCircuit() throws Exception {
    List<CircuitBreaker.Transition> transitions = new CopyOnWriteArrayList<>();
    CircuitBreaker breaker =
        CircuitBreaker.failureRate(0.5).minCalls(2).window(2).openFor(Duration.ofMinutes(1));
    breaker.addListener(transitions::add);
    AtomicInteger interrupted = new AtomicInteger();
    Semaphore entered = new Semaphore(0);
    Parallel<String, String> fanOut =
        Parallel.join(
                Parallel.branch(
                    ANALYSIS,
                    (String s, StageContext c) -> {
                      entered.release();
                      try {
                        release.await();
                      } catch (InterruptedException e) {
                        interrupted.incrementAndGet();
                        throw e;
                      }
                      return s;
                    },
                    o -> o.circuitBreaker(breaker)),
                Parallel.branch(
                    TRANSLATION,
                    (String s, StageContext c) -> {
                      assertThat(entered.tryAcquire(Await.DEADLINE.toNanos(), TimeUnit.NANOSECONDS))
                          .as("the analysis call began")
                          .isTrue();
                      throw new IOException("translator down");
                    }),
                (String a, String t) -> a + t)
            .bind(clock);

    for (int i = 1; i <= 4; i++) {
      String id = "r" + i;
      assertThatThrownBy(() -> call(fanOut, id, "x", 1))
          .isInstanceOfSatisfying(
              BranchFailedException.class, e -> assertThat(e.branch()).isEqualTo("translation"));
    }

    assertThat(interrupted).as("analysis calls cut short").hasValue(4);
    assertThat(transitions).as("analysis's circuit").isEmpty();
  }

  @Test
  void aBranchThatFiltersFiltersTheRecordNamingIt() throws Exception {
    Parallel<String, String> fanOut =
        Parallel.join(
            Parallel.branch(ANALYSIS, (String s, StageContext c) -> s),
            Parallel.branch(
                TRANSLATION,
                (String s, StageContext c) -> {
                  if (s.equals("r2")) {
                    throw RecordFilteredException.because("not a language we translate");
                  }
                  return s;
                }),
            (String a, String t) -> a + t);
    Pipeline<String, String> pipeline =
        Pipeline.builder("fan-out-filter", String.class)
            .stage(ENRICH, fanOut)
            .sink(sink::addAll)
            .clock(clock)
            .build();

    RunResult result = pipeline.run(source(IDS));

    RecordState filtered = Outcomes.state(pipeline, "r2");
    assertThat(filtered.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(filtered.reason()).isEqualTo("branch 'translation': not a language we translate");
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r3");
    Outcomes.assertEachEndedOnce(pipeline, result, IDS, sink);
  }

  @Test
  void aBranchPastItsTimeoutIsInterruptedAndRetriedByItsPolicy() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch interrupted = new CountDownLatch(1);
    List<Integer> attempts = Collections.synchronizedList(new ArrayList<>());
    Parallel<String, String> fanOut =
        Parallel.join(
                Parallel.branch(ANALYSIS, noted((String s, StageContext c) -> "positive")),
                Parallel.branch(
                    TRANSLATION,
                    noted(
                        (String s, StageContext c) -> {
                          attempts.add(c.attempt());
                          if (c.attempt() == 1) {
                            entered.countDown();
                            try {
                              release.await();
                            } catch (InterruptedException e) {
                              interrupted.countDown();
                              throw e;
                            }
                          }
                          return "hallo";
                        }),
                    o ->
                        o.timeout(Duration.ofMillis(100))
                            .retry(
                                RetryPolicy.exponential(
                                        Duration.ofSeconds(1), Duration.ofSeconds(1))
                                    .maxRetries(1))),
                (String a, String t) -> a + "/" + t)
            .bind(clock);
    AtomicReference<Object> outcome = new AtomicReference<>();
    Thread worker =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    outcome.set(call(fanOut, "r1", "hello", 1));
                  } catch (Exception e) {
                    outcome.set(e);
                  }
                });

    Await.on(entered, "the first translation call");
    clock.advance(Duration.ofMillis(101));
    Await.on(interrupted, "the interrupt of the call past its timeout");
    Await.ended(worker);

    assertThat(outcome.get()).isEqualTo("positive/hallo");
    assertThat(attempts).containsExactly(1, 2);
    assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(1));
    assertBranchThreadsEnded(Set.of());
  }

  @Test
  void aBranchPastItsTimeoutWithoutRetriesFailsTheRecordWithTheTimeout() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    Parallel<String, String> fanOut =
        Parallel.join(
                Parallel.branch(ANALYSIS, (String s, StageContext c) -> "positive"),
                Parallel.branch(
                    TRANSLATION,
                    (String s, StageContext c) -> {
                      entered.countDown();
                      release.await();
                      return "hallo";
                    },
                    o -> o.timeout(Duration.ofMillis(100))),
                (String a, String t) -> a + "/" + t)
            .bind(clock);
    AtomicReference<Object> outcome = new AtomicReference<>();
    Thread worker =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    outcome.set(call(fanOut, "r1", "hello", 1));
                  } catch (Exception e) {
                    outcome.set(e);
                  }
                });

    Await.on(entered, "the translation call");
    clock.advance(Duration.ofMillis(101));
    Await.ended(worker);

    assertThat(outcome.get())
        .isInstanceOfSatisfying(
            BranchFailedException.class,
            e -> {
              assertThat(e.branch()).isEqualTo("translation");
              assertThat(e.getCause())
                  .isInstanceOf(StageTimeoutException.class)
                  .hasMessageContaining(
                      "stage 'enrich/translation' timed out after 100ms on record 'r1'");
            });
  }

  /**
   * The stage's own timeout interrupts the worker; with no branch timeout the worker is running a
   * branch itself, with one it is watching every branch's thread.
   */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void theStageTimeoutInterruptsEveryBranch(boolean branchTimeouts) throws Exception {
    CountDownLatch entered = new CountDownLatch(2);
    CountDownLatch interrupted = new CountDownLatch(2);
    Map<String, Boolean> interruptedOnEntry = new ConcurrentHashMap<>();
    Set<Thread> workers = ConcurrentHashMap.newKeySet();
    Stage<String, String> blocksOnR2 =
        noted(
            (s, c) -> {
              if (s.equals("r2")) {
                entered.countDown();
                try {
                  release.await();
                } catch (InterruptedException e) {
                  interrupted.countDown();
                  throw e;
                }
              }
              return s;
            });
    Consumer<StageOptions.Builder> branchOptions =
        branchTimeouts ? o -> o.timeout(Duration.ofDays(1)) : o -> {};
    Parallel<String, String> fanOut =
        Parallel.join(
            Parallel.branch(ANALYSIS, blocksOnR2, branchOptions),
            Parallel.branch(TRANSLATION, blocksOnR2, branchOptions),
            (String a, String t) -> a + t);
    Pipeline<String, String> pipeline =
        Pipeline.builder("fan-out-stage-timeout-" + branchTimeouts, String.class)
            .stage(
                StageName.CLEANING,
                (String s, StageContext c) -> {
                  workers.add(Thread.currentThread());
                  return s;
                })
            .stage(
                ENRICH,
                (String s, StageContext c) -> {
                  workers.add(Thread.currentThread());
                  interruptedOnEntry.put(s, Thread.currentThread().isInterrupted());
                  return fanOut.process(s, c);
                },
                o -> o.timeout(Duration.ofMillis(100)).batchSize(10))
            .sink(sink::addAll)
            .clock(clock)
            .build();

    PipelineRun run = pipeline.start(source(IDS));
    Await.on(entered, "both branches' calls on r2");
    clock.advance(Duration.ofMillis(101));
    Await.on(interrupted, "the interrupt of both branches");
    RunResult result = Await.result(run);

    DeadLetter dead = Outcomes.deadLetter(pipeline, "r2");
    assertThat(dead.lastError().errorType()).isEqualTo("StageTimeoutException");
    assertThat(dead.lastError().message())
        .contains("stage 'enrich' timed out after 100ms on record 'r2'");
    assertThat(sink).extracting(Envelope::payload).containsExactly("r1r1", "r3r3");
    assertThat(interruptedOnEntry).containsEntry("r3", false);
    Outcomes.assertEachEndedOnce(pipeline, result, IDS, sink);
    assertBranchThreadsEnded(workers);
  }

  @Test
  void aCancelledRunInterruptsEveryBranch() throws Exception {
    CountDownLatch entered = new CountDownLatch(2);
    CountDownLatch interrupted = new CountDownLatch(2);
    Set<Thread> workers = ConcurrentHashMap.newKeySet();
    Stage<String, String> blocks =
        noted(
            (s, c) -> {
              entered.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
              }
              return s;
            });
    Parallel<String, String> fanOut =
        Parallel.join(
            Parallel.branch(ANALYSIS, blocks),
            Parallel.branch(TRANSLATION, blocks),
            (String a, String t) -> a + t);
    Pipeline<String, String> pipeline =
        Pipeline.builder("fan-out-cancel", String.class)
            .stage(
                ENRICH,
                (String s, StageContext c) -> {
                  workers.add(Thread.currentThread());
                  return fanOut.process(s, c);
                })
            .sink(sink::addAll)
            .clock(clock)
            .build();

    PipelineRun run = pipeline.start(source(List.of("r1")));
    Await.on(entered, "both branches' calls");
    run.cancel();
    Await.on(interrupted, "the interrupt of both branches");
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(sink).isEmpty();
    assertBranchThreadsEnded(workers);
  }

  @Test
  void branchesSeeTheirOwnMetadataWhichIsMergedInBranchOrderWhenTheStagePasses() throws Exception {
    CountDownLatch analysisPut = new CountDownLatch(1);
    Map<String, Object> seen = new ConcurrentHashMap<>();
    Parallel<String, String> fanOut =
        Parallel.join(
            Parallel.branch(
                ANALYSIS,
                (String s, StageContext c) -> {
                  c.putMetadata("lang", "from-analysis");
                  c.putMetadata("sentiment", "positive");
                  analysisPut.countDown();
                  return s;
                }),
            Parallel.branch(
                TRANSLATION,
                (String s, StageContext c) -> {
                  Await.on(analysisPut, "the analysis branch's metadata");
                  seen.put("metadata", c.metadata());
                  seen.put("attempt", c.attempt());
                  seen.put("recordId", c.recordId());
                  seen.put("stage", c.stage());
                  c.putMetadata("lang", "from-translation");
                  return s;
                }),
            (String a, String t) -> a + t);
    CallContext context = context("r9", "x", 3, Map.of("source-lang", "de"));

    assertThat(fanOut.process("x", context)).isEqualTo("xx");

    assertThat(seen)
        .containsEntry("metadata", Map.of("source-lang", "de"))
        .containsEntry("attempt", 1)
        .containsEntry("recordId", "r9")
        .containsEntry("stage", ENRICH);
    assertThat(context.added())
        .containsExactly(Map.entry("lang", "from-translation"), Map.entry("sentiment", "positive"));
  }

  @Test
  void aFanOutNeedsTwoToMaxBranchesWithNamesOfTheirOwn() {
    Parallel.Branch<String, String> analysis =
        Parallel.branch(ANALYSIS, (String s, StageContext c) -> s);
    Parallel.Branch<String, String> translation =
        Parallel.branch(TRANSLATION, (String s, StageContext c) -> s);
    List<Parallel.Branch<String, String>> many =
        IntStream.rangeClosed(1, Parallel.MAX_BRANCHES + 1)
            .mapToObj(i -> Parallel.branch(StageName.of("b" + i), (String s, StageContext c) -> s))
            .toList();

    assertThatThrownBy(() -> Parallel.joinAll(List.of(analysis), results -> results))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "a fan-out needs 2 to 64 branches, was given 1; call a single stage directly instead");
    assertThatThrownBy(() -> Parallel.joinAll(many, results -> results))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a fan-out needs 2 to 64 branches, was given 65");
    assertThatThrownBy(() -> Parallel.join(analysis, translation, analysis, (a, b, c) -> a + b + c))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("branch 'analysis' is given twice (as branches #1 and #3)");
    assertThatThrownBy(() -> Parallel.join(analysis, translation, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("join cannot be null");
    assertThatThrownBy(() -> Parallel.join(analysis, null, (String a, String t) -> a))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("branch #2 cannot be null");
    assertThatThrownBy(() -> Parallel.branch(null, (String s, StageContext c) -> s))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("name cannot be null");
  }

  @Test
  void aBranchRefusesOptionsThatBelongToTheStageListingEveryProblem() {
    assertThatThrownBy(
            () ->
                Parallel.branch(
                    TRANSLATION,
                    (String s, StageContext c) -> s,
                    o ->
                        o.concurrency(4)
                            .timeout(Duration.ZERO)
                            .checkpoint()
                            .fallback(Fallback.hold())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("branch 'translation': invalid options: ")
        .hasMessageContaining("timeout must be between 1 ms and 7 days")
        .hasMessageContaining("concurrency is the fan-out stage's")
        .hasMessageContaining("checkpoints and codecs are the fan-out stage's")
        .hasMessageContaining("Fallback.hold() parks the whole record");
  }
}
