package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.INDEXING;
import static dev.pipeline.StageName.INGESTION;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.InMemoryPipelineStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class ConcurrencyTest {
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private static List<String> ids(String prefix, int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> prefix + i).toList();
  }

  @Test
  void orderIsKeptEndToEndWithOneWorkerPerStage() {
    List<String> ids = ids("r", 2_000);
    Pipeline<String, String> pipeline =
        Pipeline.builder("ordered", String.class)
            .stage(INGESTION, (String s) -> s, o -> o.batchSize(7))
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(1))
            .batchStage(EXTRACTION, (List<String> in, StageContext c) -> in, o -> o.batchSize(64))
            .stage(INDEXING, (String s) -> s, o -> o.batchSize(33))
            .sink(sink::addAll)
            .queueCapacity(50)
            .build();

    pipeline.run(Source.of("src", ids.iterator(), id -> id));

    assertThat(sink).extracting(Envelope::id).containsExactlyElementsOf(ids);
  }

  @Test
  void manyWorkersOverManySourcesNeitherLoseNorRepeatARecord() {
    Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    StageFunction<String, String> counted =
        s -> {
          calls.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
          return s;
        };
    Pipeline<String, String> pipeline =
        Pipeline.builder("many-workers", String.class)
            .stage(INGESTION, counted, o -> o.concurrency(16).batchSize(8))
            .stage(CLEANING, (String s) -> s + "", o -> o.concurrency(4).batchSize(100))
            .batchStage(
                EXTRACTION,
                (List<String> in, StageContext c) -> in,
                o -> o.concurrency(8).batchSize(32))
            .stage(INDEXING, (String s) -> s, o -> o.concurrency(32).batchSize(1))
            .sink(sink::addAll)
            .queueCapacity(64)
            // keeps every record's state, so that each is checked below to have ended once
            .store(InMemoryPipelineStore.builder().retainCompleted(20_000).build())
            .build();
    List<Source<String>> sources = new ArrayList<>();
    List<String> all = new ArrayList<>();
    for (String name : List.of("a", "b", "c", "d")) {
      List<String> ids = ids(name, 5_000);
      all.addAll(ids);
      sources.add(Source.of(name, ids.iterator(), id -> id));
    }

    RunResult result = pipeline.run(sources);

    assertThat(sink).extracting(Envelope::id).doesNotHaveDuplicates().hasSameSizeAs(all);
    assertThat(sink).extracting(Envelope::id).containsExactlyInAnyOrderElementsOf(all);
    assertThat(calls).hasSize(all.size()).allSatisfy((id, n) -> assertThat(n).hasValue(1));
    Outcomes.assertEachEndedOnce(pipeline, result, all, sink);
  }

  @Test
  void stageRunsAsManyCallsAtOnceAsItsConcurrency() {
    int concurrency = 4;
    CyclicBarrier allIn = new CyclicBarrier(concurrency);
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger mostInFlight = new AtomicInteger();
    Pipeline<String, String> pipeline =
        Pipeline.builder("concurrency", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                  try {
                    // trips only when every worker is in a call at once; breaks (failing) if not
                    allIn.await(Await.DEADLINE.toSeconds(), TimeUnit.SECONDS);
                  } finally {
                    inFlight.decrementAndGet();
                  }
                  return s;
                },
                o -> o.concurrency(concurrency).batchSize(1))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(Source.of("src", ids("r", 3 * concurrency).iterator()));

    assertThat(result.published()).isEqualTo(3 * concurrency);
    assertThat(mostInFlight).hasValue(concurrency);
  }

  @Test
  void sourcesAreReadConcurrently() {
    int sources = 3;
    CyclicBarrier allReading = new CyclicBarrier(sources);
    List<Source<String>> all = new ArrayList<>();
    for (int i = 0; i < sources; i++) {
      String id = "s" + i;
      all.add(
          new Source<>() {
            private int read;

            @Override
            public String id() {
              return id;
            }

            @Override
            public @Nullable Envelope<String> next() throws Exception {
              if (read == 0) {
                allReading.await(Await.DEADLINE.toSeconds(), TimeUnit.SECONDS);
              }
              return read++ < 10 ? Envelope.of(id + "-" + read, "x") : null;
            }
          });
    }
    Pipeline<String, String> pipeline =
        Pipeline.builder("sources", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(all);

    assertThat(result.sourceErrors()).isEmpty();
    assertThat(result.published()).isEqualTo(30);
    assertThat(sink)
        .extracting(Envelope::sourceId)
        .containsOnly("s0", "s1", "s2")
        .filteredOn("s1"::equals)
        .hasSize(10);
  }

  /** Each worker of a stage is one producer of the next stage's queue. */
  @Test
  void runFinishesWhenAStageBeforeTheLastHasSeveralWorkers() throws Exception {
    Pipeline<String, String> pipeline =
        Pipeline.builder("producers", String.class)
            .stage(INGESTION, (String s) -> s, o -> o.concurrency(3).batchSize(2))
            .stage(CLEANING, (String s) -> s, o -> o.concurrency(5).batchSize(3))
            .stage(EXTRACTION, (String s) -> s, o -> o.concurrency(2))
            .sink(sink::addAll)
            .build();

    RunResult result = Await.result(pipeline.start(Source.of("src", ids("r", 100).iterator())));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(100);
  }
}
