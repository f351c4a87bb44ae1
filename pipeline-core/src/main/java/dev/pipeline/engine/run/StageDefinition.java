package dev.pipeline.engine.run;

import dev.pipeline.BatchStage;
import dev.pipeline.Stage;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.StageDescriptor;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** One stage as built: its name, options and function (a single-record or a batch one). */
public record StageDefinition(
    StageName name,
    int order,
    StageOptions options,
    @Nullable Stage<Object, Object> single,
    @Nullable BatchStage<Object, Object> batch,
    String functionName) {

  boolean isBatch() {
    return batch != null;
  }

  public StageDescriptor describe(@Nullable PayloadCodec<?> inputCodec) {
    Duration timeout = options.timeout();
    return new StageDescriptor(
        name.value(),
        order,
        functionName,
        timeout == null ? null : Math.max(1, timeout.toSeconds()),
        options.retryPolicy().toString(),
        options.retryPolicy().maxRetries(),
        options.checkpoint(),
        inputCodec);
  }
}
