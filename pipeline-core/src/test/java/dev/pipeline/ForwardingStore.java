package dev.pipeline;

import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.Page;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.StageDescriptor;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A store that hands each of the interface's abstract methods to another, for tests to change one
 * or two; the interface's default methods keep their defaults (but {@code nextDue}, which goes with
 * {@code isDurable}), and closing closes nothing.
 */
class ForwardingStore implements RecordLedger {
  final RecordLedger delegate;

  ForwardingStore(RecordLedger delegate) {
    this.delegate = delegate;
  }

  @Override
  public void register(String pipeline, List<StageDescriptor> stages) {
    delegate.register(pipeline, stages);
  }

  @Override
  public void unregister(String pipeline) {
    delegate.unregister(pipeline);
  }

  @Override
  public Set<String> ingest(
      String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
    return delegate.ingest(pipeline, records, stage, at);
  }

  @Override
  public Set<String> ingest(
      String pipeline,
      List<? extends Envelope<?>> records,
      String stage,
      Instant at,
      dev.pipeline.store.spi.SourceSpan span) {
    return delegate.ingest(pipeline, records, stage, at, span);
  }

  @Override
  public void replayFrom(String pipeline, dev.pipeline.store.spi.SourceReplay replay) {
    delegate.replayFrom(pipeline, replay);
  }

  @Override
  public void checkpoint(
      String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
    delegate.checkpoint(pipeline, records, stage, at);
  }

  @Override
  public Set<String> complete(String pipeline, List<Completion> completions) {
    return delegate.complete(pipeline, completions);
  }

  @Override
  public Set<String> beginDelivery(String pipeline, List<String> recordIds) {
    return delegate.beginDelivery(pipeline, recordIds);
  }

  @Override
  public List<Claimed> claim(String pipeline, int max) {
    return delegate.claim(pipeline, max);
  }

  @Override
  public boolean hasUnfinished(String pipeline) {
    return delegate.hasUnfinished(pipeline);
  }

  @Override
  public Optional<String> sourcePosition(String pipeline, String sourceId) {
    return delegate.sourcePosition(pipeline, sourceId);
  }

  @Override
  public void keepSourcePosition(String pipeline, String sourceId, @Nullable String position) {
    delegate.keepSourcePosition(pipeline, sourceId, position);
  }

  @Override
  public Optional<RecordState> find(String pipeline, String recordId) {
    return delegate.find(pipeline, recordId);
  }

  @Override
  public Page<DeadLetter> deadLetters(String pipeline, DeadLetterQuery query) {
    return delegate.deadLetters(pipeline, query);
  }

  @Override
  public StatusCounts counts(String pipeline) {
    return delegate.counts(pipeline);
  }

  @Override
  public boolean isDurable() {
    return delegate.isDurable();
  }

  @Override
  public Optional<Instant> nextDue(String pipeline) {
    return delegate.nextDue(pipeline);
  }

  @Override
  public void close() {}
}
