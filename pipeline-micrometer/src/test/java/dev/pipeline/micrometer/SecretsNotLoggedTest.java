package dev.pipeline.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import dev.pipeline.SafeText;
import dev.pipeline.StageName;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.testkit.LogCapture;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The binder's log lines show no secret that a store's error carries. */
class SecretsNotLoggedTest {
  private static final String PASSWORD = "hunter2-pw";
  private static final String TOKEN = "t0psecret-tok3n";

  /** An in-memory store whose counts fail, while {@code down}, naming a URL with its password. */
  private static RecordLedger failing(AtomicBoolean down) {
    RecordLedger store = InMemoryPipelineStore.create();
    return (RecordLedger)
        Proxy.newProxyInstance(
            SecretsNotLoggedTest.class.getClassLoader(),
            new Class<?>[] {RecordLedger.class},
            (proxy, method, args) -> {
              if (down.get() && method.getName().equals("count")) {
                throw new IllegalStateException(
                    "connection to jdbc:postgresql://db/orders?password="
                        + PASSWORD
                        + " refused; Authorization: Bearer "
                        + TOKEN);
              }
              try {
                return method.invoke(store, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  @Test
  void aStoreThatCannotCountIsLoggedWithItsSecretsMasked() {
    AtomicBoolean down = new AtomicBoolean();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("secrets", String.class)
            .store(failing(down))
            .stage(StageName.of("upper"), (String s) -> s.toUpperCase(java.util.Locale.ROOT))
            .sink(batch -> {})
            .build()) {
      PipelineMeterBinder.of(pipeline, Duration.ZERO).bindTo(registry);
      int mark = LogCapture.mark();
      down.set(true);
      assertThat(registry.get("pipeline.dead_letters").gauge().value()).isNaN();
      down.set(false);
      List<String> lines =
          LogCapture.since(mark).stream()
              .filter(l -> l.contains("dev.pipeline.micrometer"))
              .toList();
      assertThat(lines)
          .as("the failure was logged, masked")
          .anyMatch(l -> l.contains("could not count") && l.contains(SafeText.MASK));
      for (String line : lines) {
        assertThat(line).doesNotContain(PASSWORD).doesNotContain(TOKEN);
      }
    }
  }
}
