package dev.pipeline.jdbc;

import dev.pipeline.Envelope;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.spi.SourceReplay;
import dev.pipeline.store.spi.SourceSpan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Reads again the records of a claimed batch kept as a source span and checks each against the id
 * its batch stored at its place: a record the source no longer gives there (its data changed, or
 * the source cannot be read) is not replaced by what the source gives now but goes to the dead
 * letter queue, with an error naming the source, the position and what to do.
 */
final class SpanReplay {
  private SpanReplay() {}

  /**
   * The pending entries, each with its record read again, or without one if it is damaged (then
   * {@code damaged} gets its error).
   *
   * @throws InterruptedException if the claiming thread is interrupted while reading
   */
  static List<BatchLedger.Entry> replay(
      String pipeline,
      String stage,
      @Nullable SourceReplay replay,
      SourceSpan span,
      List<BatchLedger.Entry> pending,
      Map<String, PayloadIntegrityException> damaged)
      throws InterruptedException {
    List<Envelope<?>> read = List.of();
    String failure = null;
    if (replay == null) {
      failure = "this run does not read that source";
    } else {
      try {
        SourceReplay.Replayed replayed = replay.read(span);
        read = replayed.records();
        if (read.size() == span.count() && !replayed.end().equals(span.end())) {
          // the same ids, but not the same data: a record changed (a file's line changed length)
          failure =
              "the source now ends the batch at position '"
                  + ErrorText.loggable(replayed.end())
                  + "', not at '"
                  + ErrorText.loggable(span.end())
                  + "' as it did";
        }
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        failure = "the source cannot be read again there: " + ErrorText.describeDefault(e);
      }
    }
    List<BatchLedger.Entry> out = new ArrayList<>(pending.size());
    for (BatchLedger.Entry e : pending) {
      Envelope<?> record = e.seq() < read.size() ? read.get(e.seq()) : null;
      if (failure == null && record != null && record.id().equals(e.id())) {
        out.add(new BatchLedger.Entry(e.seq(), e.id(), null, 0, null, record));
        continue;
      }
      String found =
          failure != null
              ? failure
              : record == null
                  ? "the source now ends after " + read.size() + " records from there"
                  : "the source now gives record '" + ErrorText.loggable(record.id()) + "' there";
      damaged.put(
          e.id(),
          new PayloadIntegrityException(
              e.id(),
              stage,
              "record '"
                  + ErrorText.loggable(e.id())
                  + "' of pipeline '"
                  + pipeline
                  + "' was stored as record "
                  + (e.seq() + 1)
                  + " read from source '"
                  + ErrorText.loggable(span.sourceId())
                  + "' at position '"
                  + ErrorText.loggable(span.position())
                  + "', without its payload, but "
                  + found
                  + ": the source's data changed before the record was finished, and the record"
                  + " was not replaced by what it holds now. Its dead letter has no payload:"
                  + " restore the source's data and send it back with"
                  + " reprocessWithPayload(pipeline, id, payload), or discard it"));
      out.add(e);
    }
    return out;
  }
}
