package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.HeldLeases;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Text from outside the library that the engine prints (source ids, other workers' ids) is escaped
 * wherever it goes: thread names (printed on every log line), the progress line, the run result.
 */
class ForeignTextTest {
  private static final String HOSTILE = "listings\n[main] INFO forged\u001B[2J\u202E";

  @Test
  void aSourceIdWithLineBreaksAndEscapesIsEscapedInThreadNamesAndSourceErrors() {
    Queue<String> threadNames = new ConcurrentLinkedQueue<>();
    Source<String> source =
        new Source<>() {
          private int read;

          @Override
          public String id() {
            return HOSTILE;
          }

          @Override
          public @Nullable Envelope<String> next() throws IOException {
            threadNames.add(Thread.currentThread().getName());
            if (read == 2) {
              throw new IOException("disk gone\nERROR forged");
            }
            read++;
            return Envelope.of("r" + read, "x");
          }

          @Override
          public void close() {}
        };
    Pipeline<String, String> pipeline =
        Pipeline.builder("hostile-source", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(records -> {})
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result = pipeline.run(List.of(source));
      assertThat(log.text()).doesNotContain("\u001B").doesNotContain("\n[main] INFO forged");
    }

    assertThat(threadNames)
        .isNotEmpty()
        .allSatisfy(name -> assertThat(ErrorText.firstControl(name)).isEqualTo(-1))
        .allSatisfy(name -> assertThat(name).contains("listings\\n[main] INFO forged\\u001B"));
    assertThat(result.sourceErrors())
        .singleElement()
        .satisfies(line -> assertThat(ErrorText.firstControl(line)).isEqualTo(-1))
        .asString()
        .contains("source 'listings\\n[main] INFO forged\\u001B[2J\\u202E' failed after yielding 2")
        .contains("disk gone\\nERROR forged");
    assertThat(result.summary()).doesNotContain(HOSTILE).contains("listings\\n[main]");
  }

  @Test
  void anotherWorkersIdIsEscapedInWhatARunWaitsFor() throws Exception {
    AtomicBoolean held = new AtomicBoolean(true);
    ForwardingStore store =
        new ForwardingStore(InMemoryPipelineStore.create()) {
          @Override
          public boolean isDurable() {
            return true; // what waits for other workers' leases: a run on a shared store
          }

          @Override
          public boolean hasUnfinished(String pipeline) {
            return held.get() || delegate.hasUnfinished(pipeline);
          }

          @Override
          public List<HeldLeases> leasesHeldElsewhere(String pipeline) {
            return held.get()
                ? List.of(new HeldLeases(HOSTILE, 3, Duration.ofSeconds(30)))
                : List.of();
          }
        };
    Pipeline<String, String> pipeline =
        Pipeline.builder("waits", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(records -> {})
            .store(store)
            .build();

    String waiting;
    try (StderrCapture log = new StderrCapture()) {
      PipelineRun run = pipeline.start(Source.of("none", List.<String>of().iterator()));
      Await.until("the run says what it waits for", () -> !run.progress().waiting().isEmpty());
      waiting = run.progress().waiting();
      String line = run.progress().line();
      held.set(false);
      assertThat(Await.result(run).status()).isEqualTo(RunStatus.COMPLETED);
      assertThat(ErrorText.firstControl(line)).isEqualTo(-1);
      assertThat(log.text()).doesNotContain("\u001B").doesNotContain("\n[main] INFO forged");
    }
    assertThat(waiting)
        .contains("3 leases of worker listings\\n[main] INFO forged\\u001B[2J\\u202E to expire");
    assertThat(ErrorText.firstControl(waiting)).isEqualTo(-1);
  }
}
