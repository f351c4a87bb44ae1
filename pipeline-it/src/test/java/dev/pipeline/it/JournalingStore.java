package dev.pipeline.it;

import dev.pipeline.Envelope;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.Page;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import dev.pipeline.store.spi.HeldLeases;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.MergedGroup;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.ScheduledRetry;
import dev.pipeline.store.spi.StageDescriptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A child's store, wrapped so that what the database accepted is written to a journal file after
 * each call returns: the records this worker leased ({@code I} ingested, {@code C} claimed), began
 * delivering ({@code B}), completed ({@code D}, with the terminal status) or was refused ({@code
 * F}, fenced), and the merge groups it found complete ({@code G}, by parent id). One line per
 * record, "kind id status millis"; each call's lines go out in one write, which a SIGKILL does not
 * undo (the bytes are in the kernel's page cache). A kill between a commit and its journal write
 * loses those lines, so a killed worker's journal may miss its last calls; a worker that exits
 * normally has journaled everything.
 */
final class JournalingStore implements RecordLedger {
  private final RecordLedger store;
  private final FileChannel journal;
  private final ReentrantLock lock = new ReentrantLock();
  private volatile Consumer<List<String>> afterNote = ids -> {};
  private volatile BiConsumer<String, Set<String>> afterIngest = (stage, ids) -> {};
  private volatile Consumer<MergeOutcome> afterMerge = outcome -> {};

  JournalingStore(RecordLedger store, Path journal) throws IOException {
    this.store = store;
    this.journal =
        FileChannel.open(
            journal,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.APPEND);
  }

  private void write(char kind, Collection<String> ids) {
    StringBuilder lines = new StringBuilder();
    long now = System.currentTimeMillis();
    for (String id : ids) {
      line(lines, kind, id, "-", now);
    }
    write(lines);
  }

  private static void line(StringBuilder lines, char kind, String id, String status, long now) {
    lines.append(kind).append(' ').append(id).append(' ').append(status).append(' ');
    lines.append(now).append('\n');
  }

  private void write(StringBuilder lines) {
    if (lines.isEmpty()) {
      return;
    }
    ByteBuffer bytes = ByteBuffer.wrap(lines.toString().getBytes(StandardCharsets.UTF_8));
    lock.lock();
    try {
      while (bytes.hasRemaining()) {
        journal.write(bytes);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void register(String pipeline, List<StageDescriptor> stages) {
    store.register(pipeline, stages);
  }

  @Override
  public void unregister(String pipeline) {
    store.unregister(pipeline);
  }

  @Override
  public Set<String> ingest(
      String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
    return journaled(records, stage, store.ingest(pipeline, records, stage, at));
  }

  @Override
  public Set<String> ingest(
      String pipeline,
      List<? extends Envelope<?>> records,
      String stage,
      Instant at,
      dev.pipeline.store.spi.SourceSpan span) {
    return journaled(records, stage, store.ingest(pipeline, records, stage, at, span));
  }

  @Override
  public void replayFrom(String pipeline, dev.pipeline.store.spi.SourceReplay replay) {
    store.replayFrom(pipeline, replay);
  }

  private Set<String> journaled(
      List<? extends Envelope<?>> records, String stage, Set<String> duplicates) {
    Set<String> leased = new LinkedHashSet<>();
    for (Envelope<?> r : records) {
      if (!duplicates.contains(r.id())) {
        leased.add(r.id());
      }
    }
    write('I', leased);
    afterIngest.accept(stage, leased);
    return duplicates;
  }

  /**
   * A hook run after each ingest has been committed and journaled, with its stage and the ids it
   * stored: where a test kills a worker between storing a split's children and ending the parents.
   */
  void afterIngest(BiConsumer<String, Set<String>> hook) {
    this.afterIngest = hook;
  }

  @Override
  public void checkpoint(
      String pipeline, List<? extends Envelope<?>> records, String nextStage, Instant at) {
    store.checkpoint(pipeline, records, nextStage, at);
  }

  @Override
  public Set<String> complete(String pipeline, List<Completion> completions) {
    Set<String> fenced = store.complete(pipeline, completions);
    journal(completions, fenced);
    return fenced;
  }

  @Override
  public Handover completeAndDeliver(
      String pipeline, List<Completion> completions, List<String> delivering) {
    Handover handover = store.completeAndDeliver(pipeline, completions, delivering);
    journal(completions, handover.fenced());
    if (!delivering.isEmpty()) {
      List<String> noted = new ArrayList<>(delivering);
      noted.removeAll(handover.lost());
      write('B', noted);
      lost(handover.lost());
      afterNote.accept(noted);
    }
    return handover;
  }

  /** A hook run after each delivery note, with the ids noted: where a test pauses a worker. */
  void afterDeliveryNote(Consumer<List<String>> hook) {
    this.afterNote = hook;
  }

  /** Records this worker found it no longer holds: taken over, so no longer its to complete. */
  private void lost(Collection<String> ids) {
    StringBuilder lines = new StringBuilder();
    long now = System.currentTimeMillis();
    for (String id : ids) {
      line(lines, 'F', id, "LOST", now);
    }
    write(lines);
  }

  @Override
  public Set<String> notHeld(String pipeline, Collection<String> recordIds) {
    Set<String> gone = store.notHeld(pipeline, recordIds);
    lost(gone);
    return gone;
  }

  /** Forwarded, so that the crash tests run the store's own answer; it drops no record. */
  @Override
  public Collection<String> inDoubt(String pipeline, Collection<String> recordIds) {
    return store.inDoubt(pipeline, recordIds);
  }

  @Override
  public Set<String> unfinished(String pipeline, Collection<String> recordIds) {
    return store.unfinished(pipeline, recordIds);
  }

  @Override
  public List<HeldLeases> leasesHeldElsewhere(String pipeline) {
    return store.leasesHeldElsewhere(pipeline);
  }

  private void journal(List<Completion> completions, Set<String> fenced) {
    StringBuilder lines = new StringBuilder();
    long now = System.currentTimeMillis();
    Set<String> seen = new LinkedHashSet<>();
    for (Completion c : completions) {
      if (seen.add(c.recordId())) {
        boolean refused = fenced.contains(c.recordId());
        line(lines, refused ? 'F' : 'D', c.recordId(), c.status().name(), now);
      }
    }
    write(lines);
  }

  @Override
  public Set<String> beginDelivery(String pipeline, List<String> recordIds) {
    Set<String> redelivered = store.beginDelivery(pipeline, recordIds);
    write('B', recordIds);
    return redelivered;
  }

  @Override
  public List<Claimed> claim(String pipeline, int max) {
    return journaled(store.claim(pipeline, max));
  }

  @Override
  public List<Claimed> claim(String pipeline, int max, Instant now) {
    return journaled(store.claim(pipeline, max, now));
  }

  private List<Claimed> journaled(List<Claimed> claimed) {
    write('C', claimed.stream().map(c -> c.record().id()).toList());
    return claimed;
  }

  @Override
  public boolean hasRetryQueue() {
    return store.hasRetryQueue();
  }

  @Override
  public boolean keepsMergeGroups() {
    return store.keepsMergeGroups();
  }

  /** Journals the groups found complete ({@code G parentId}) after the call committed. */
  @Override
  public MergeOutcome merge(String pipeline, String stage, List<MergePart> parts, Instant at) {
    MergeOutcome outcome = store.merge(pipeline, stage, parts, at);
    List<String> complete = new ArrayList<>();
    for (MergedGroup group : outcome.complete()) {
      complete.add(group.parentId());
    }
    write('G', complete);
    afterMerge.accept(outcome);
    return outcome;
  }

  /**
   * A hook run after each merge call has been committed and journaled: where a test kills a worker
   * between completing a group and storing its merged record.
   */
  void afterMerge(Consumer<MergeOutcome> hook) {
    this.afterMerge = hook;
  }

  @Override
  public Optional<Instant> nextDue(String pipeline) {
    return store.nextDue(pipeline);
  }

  @Override
  public Set<String> scheduleRetries(String pipeline, List<ScheduledRetry> retries, Instant at) {
    return store.scheduleRetries(pipeline, retries, at);
  }

  @Override
  public Set<String> reprocess(String pipeline, Collection<String> recordIds, Instant at) {
    return store.reprocess(pipeline, recordIds, at);
  }

  @Override
  public Set<String> discard(
      String pipeline, Collection<String> recordIds, String reason, Instant at) {
    return store.discard(pipeline, recordIds, reason, at);
  }

  @Override
  public void release(String pipeline) {
    store.release(pipeline);
  }

  @Override
  public boolean hasUnfinished(String pipeline) {
    return store.hasUnfinished(pipeline);
  }

  @Override
  public Optional<RecordState> find(String pipeline, String recordId) {
    return store.find(pipeline, recordId);
  }

  @Override
  public Page<DeadLetter> deadLetters(String pipeline, DeadLetterQuery query) {
    return store.deadLetters(pipeline, query);
  }

  @Override
  public StatusCounts counts(String pipeline) {
    return store.counts(pipeline);
  }

  @Override
  public boolean isDurable() {
    return store.isDurable();
  }

  @Override
  public void close() {
    try {
      store.close();
    } finally {
      try {
        journal.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
