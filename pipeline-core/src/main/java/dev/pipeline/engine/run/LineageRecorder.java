package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.LineageLevel;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.ScheduledRetry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Makes a run's lineage events, once per batch a worker hands on: from the batch's inputs, its
 * outputs, the records it ended and those it parked, it makes an event per record the level keeps,
 * and offers them to the pipeline's {@link Telemetry} writer together, which appends them to the
 * store in bulk with the audit trail and metrics history. A run without lineage has no recorder.
 *
 * <p>Thread-safe (it keeps no state of its own between batches).
 */
public final class LineageRecorder {
  /** Metadata key of the rule verdicts a quality gate tags a record with. */
  public static final String VIOLATIONS = "quality.violations";

  /** Metadata key prefix of the branch a route sent a record down. */
  static final String BRANCH = "branch.";

  /** Metadata key prefix of the implementation a load-balanced stage called. */
  static final String IMPLEMENTATION = "implementation.";

  /** Output hashes kept for the next stage at most; past it they are forgotten (see handed). */
  static final int MAX_HANDED = 1 << 16;

  private final LineageLevel level;
  private final double share;
  private final Run run;

  /**
   * The output hash of each record a stage handed on, by id, with the payload it is the hash of:
   * the next stage's event takes it as its input hash when it gets the same payload object, so each
   * payload's text is made and hashed once, not twice (the hashing was most of what lineage cost a
   * worker). Its hash is then of the payload as it entered the stage, even if the stage changed the
   * object in place. Entries go at the sink and when a record ends; what stays (records taken over
   * by another worker, a pipeline without a sink) is forgotten when there are {@link #MAX_HANDED}.
   * Null at FAILURES, whose few events are not worth it.
   */
  private final @Nullable ConcurrentHashMap<String, Hashed> handed;

  /**
   * A payload and the hash of its content, with the record's metadata map as it was handed on and
   * the source and parent ids read from it: the next stage's event takes them from here while the
   * record still has that map (the map's lookups were a cache miss per event, as much as the
   * recorder's other work). A record's entry is set again in place at each stage it passes, not put
   * again: the stages that take a record one after the other hand it on through their queues, which
   * order each stage's writes before the next stage's reads, and a put was a second lookup and a
   * lock of the map's bin per event.
   */
  private static final class Hashed {
    Object payload;
    long hash;
    Map<String, String> metadata;
    @Nullable String sourceId;
    @Nullable String parentId;

    Hashed(
        Object payload,
        long hash,
        Map<String, String> metadata,
        @Nullable String sourceId,
        @Nullable String parentId) {
      this.payload = payload;
      this.hash = hash;
      this.metadata = metadata;
      this.sourceId = sourceId;
      this.parentId = parentId;
    }
  }

  LineageRecorder(LineageLevel level, double share, Run run) {
    this.level = level;
    this.share = share;
    this.run = run;
    this.handed = level == LineageLevel.FAILURES ? null : new ConcurrentHashMap<>();
  }

  /** Records what the batch's worker made of its records at the stage. */
  void record(RunStage stage, BatchWork work) {
    Batch b = new Batch(stage, work);
    for (Envelope<Object> out : work.outputs) {
      int attempts = attemptsOf(out.id(), b.stage);
      // at ALL every output's input is looked at anyway: an output carrying its input's metadata
      // map itself was not marked degraded here (a fallback's mark makes a new map), so the map
      // is not searched for the mark (a cache miss per record, as much as a payload's hash)
      Envelope<Object> in = level == LineageLevel.ALL ? b.input(out.id()) : null;
      boolean fellBack = (in == null || in.metadata() != out.metadata()) && fellBack(out, b.stage);
      if (level == LineageLevel.FAILURES ? attempts > 1 || fellBack : traced(out)) {
        if (in == null) {
          in = b.input(out.id());
        }
        b.add(
            in == null ? out : in,
            out,
            out.metadata(),
            fellBack ? LineageOutcome.DEGRADED : LineageOutcome.PASSED,
            attempts,
            0,
            null);
      }
    }
    // the outputs' events come first: at a stage that hands them on, their records go on
    int goingOn = b.handsOn && b.events != null ? b.events.size() : 0;
    for (Completion c : work.completions) {
      Envelope<Object> in = b.input(c.recordId());
      boolean failures = level == LineageLevel.FAILURES;
      if (in == null || (failures ? c.status() == RecordStatus.SPLIT : !traced(in))) {
        continue;
      }
      LineageOutcome outcome =
          switch (c.status()) {
            case FILTERED -> LineageOutcome.FILTERED;
            case DEAD_LETTER -> LineageOutcome.DEAD_LETTER;
            case SPLIT -> LineageOutcome.SPLIT;
            case MERGED -> LineageOutcome.MERGED;
            default -> LineageOutcome.PASSED;
          };
      int children = c.status() == RecordStatus.SPLIT ? b.children(c.recordId()) : 0;
      String detail = c.reason() != null ? c.reason() : lastError(c.errors());
      Envelope<?> ended = c.record();
      Map<String, String> after = ended != null ? ended.metadata() : in.metadata();
      b.add(in, null, after, outcome, Math.max(1, c.attempts()), children, detail);
    }
    for (ScheduledRetry r : work.parked) {
      Envelope<Object> in = b.input(r.record().id());
      if (in == null || (level != LineageLevel.FAILURES && !traced(in))) {
        continue;
      }
      b.add(
          in,
          null,
          r.record().metadata(),
          LineageOutcome.RETRY_SCHEDULED,
          Math.max(1, r.attempts()),
          0,
          lastError(r.errors()));
    }
    if (b.events != null) {
      run.telemetry.lineage(new LineageBatch(b.events, goingOn));
    }
  }

  /**
   * Records the making of a merged record at its merge stage: an event of the merged record that
   * names its parent and parts ({@code parentId/0} to {@code parentId/(size - 1)}), the input hash
   * being that of the list of the parts' payloads. Its parts' own events there (MERGED) name it.
   *
   * @param input the record the merge function was called with (its payload the parts' payloads)
   * @param out the merged record
   * @param entered when the worker took the batch that completed the group, if known
   */
  void merged(
      RunStage stage,
      Envelope<Object> input,
      Envelope<Object> out,
      String parentId,
      int size,
      int attempts,
      @Nullable Instant entered) {
    boolean kept =
        switch (level) {
          case ALL -> true;
          case SAMPLED -> sampled(parentId, share);
          case FAILURES -> attempts > 1;
          default -> false;
        };
    if (!kept) {
      return;
    }
    Instant left = run.clock.now();
    int arrived = input.payload() instanceof List<?> parts ? parts.size() : size;
    long outputHash = payloadHash(out.payload());
    if (handsOn(stage)) {
      hand(out, outputHash, null, null, null, null);
    }
    run.telemetry.lineage(
        new LineageBatch(
            List.of(
                new LineageEvent(
                    out.id(),
                    stage.def.name().value(),
                    LineageOutcome.PASSED,
                    entered != null ? entered : left,
                    left,
                    attempts,
                    payloadHash(input.payload()),
                    outputHash,
                    out.metadata().get(Envelope.SOURCE_ID),
                    parentId,
                    0,
                    null,
                    null,
                    "merged from the "
                        + arrived
                        + " of "
                        + size
                        + " parts of '"
                        + parentId
                        + "' that arrived ('"
                        + parentId
                        + "/0' to '"
                        + parentId
                        + "/"
                        + (size - 1)
                        + "')")),
            handsOn(stage) ? 1 : 0));
  }

  /** Whether the outputs of a stage go on to another event: at the next stage or the sink. */
  private boolean handsOn(RunStage stage) {
    return stage.sink == null && (stage.next != null || run.sinkStage != null);
  }

  /**
   * Keeps an output's hash for its event at the next stage.
   *
   * @param inputMetadata the input's metadata map, whose source and parent ids are given, or null
   * @param entry the record's entry, found under the output's id, to set again; or null
   */
  private void hand(
      Envelope<Object> out,
      long outputHash,
      @Nullable Map<String, String> inputMetadata,
      @Nullable String sourceId,
      @Nullable String parentId,
      @Nullable Hashed entry) {
    ConcurrentHashMap<String, Hashed> h = handed;
    if (h == null) {
      return;
    }
    Map<String, String> meta = out.metadata();
    String source = inputMetadata == meta ? sourceId : meta.get(Envelope.SOURCE_ID);
    String parent = inputMetadata == meta ? parentId : meta.get(Envelope.PARENT_ID);
    if (entry != null) {
      // if the map was emptied since, the next stage finds nothing and hashes its input itself
      entry.payload = out.payload();
      entry.hash = outputHash;
      entry.metadata = meta;
      entry.sourceId = source;
      entry.parentId = parent;
      return;
    }
    if (h.size() >= MAX_HANDED) {
      h.clear();
    }
    h.put(out.id(), new Hashed(out.payload(), outputHash, meta, source, parent));
  }

  /** Whether the level keeps every event of this record (or, at FAILURES, of none). */
  private boolean traced(Envelope<?> record) {
    return switch (level) {
      case ALL -> true;
      case SAMPLED -> {
        String parent = record.metadata().get(Envelope.PARENT_ID);
        yield sampled(parent != null ? parent : record.id(), share);
      }
      default -> false;
    };
  }

  /** Whether a record of this id (or a child of a record of this id) is in the sampled share. */
  public static boolean sampled(String id, double share) {
    long h = hash(id);
    // the top 53 bits, as a fraction in [0, 1)
    return (h >>> 11) * 0x1.0p-53 < share;
  }

  /**
   * The 64-bit FNV-1a hash of a text's UTF-16 characters (each character's low byte, then its high
   * byte).
   */
  static long hash(String text) {
    return PayloadHash.text(text);
  }

  /** The hash of a payload's content ({@link PayloadHash}). */
  public static long payloadHash(Object payload) {
    return PayloadHash.of(payload);
  }

  private int attemptsOf(String recordId, String stage) {
    int failed = 0;
    for (ErrorInfo e : run.passedErrors.peek(recordId)) {
      if (e.stage().equals(stage)) {
        failed++;
      }
    }
    return failed + 1;
  }

  /** Whether the output's fallback mark names the stage. */
  private static boolean fellBack(Envelope<Object> out, String stage) {
    String degraded = out.metadata().get(Fallback.DEGRADED);
    return degraded != null && marks(degraded, stage);
  }

  private static boolean marks(String degraded, String stage) {
    for (String s : degraded.split(",", -1)) {
      if (s.equals(stage)) {
        return true;
      }
    }
    return false;
  }

  private static @Nullable String lastError(List<ErrorInfo> errors) {
    if (errors.isEmpty()) {
      return null;
    }
    ErrorInfo last = errors.get(errors.size() - 1);
    return last.errorType() + ": " + last.message();
  }

  /** One batch's events, made as the records are looked at. */
  private final class Batch {
    final String stage;
    final boolean first;
    final boolean atSink;
    final boolean handsOn;
    final BatchWork work;
    final Instant entered;
    final Instant left;
    @Nullable Map<String, Envelope<Object>> inputs;
    int next; // the input after the one found last in order
    @Nullable Map<String, Integer> children;
    @Nullable List<LineageEvent> events;

    Batch(RunStage stage, BatchWork work) {
      this.stage = stage.def.name().value();
      this.first = run.stages.length > 0 && run.stages[0] == stage;
      this.atSink = stage.sink != null;
      this.handsOn = handsOn(stage);
      this.work = work;
      this.left = run.clock.now();
      this.entered = work.entered != null ? work.entered : left;
    }

    @Nullable Envelope<Object> input(String id) {
      // most stages hand their records on in the order they took them: try the next one first
      List<Envelope<Object>> batch = work.batch;
      if (next < batch.size()) {
        Envelope<Object> e = batch.get(next);
        if (e.id().equals(id)) {
          next++;
          return e;
        }
      }
      if (inputs == null) {
        inputs = new HashMap<>(work.batch.size() * 2);
        for (Envelope<Object> e : work.batch) {
          inputs.put(e.id(), e);
        }
      }
      return inputs.get(id);
    }

    int children(String parentId) {
      if (children == null) {
        children = new HashMap<>();
        for (Envelope<Object> child : work.children) {
          String parent = child.metadata().get(Envelope.PARENT_ID);
          if (parent != null) {
            children.merge(parent, 1, Integer::sum);
          }
        }
      }
      return children.getOrDefault(parentId, 0);
    }

    void add(
        Envelope<Object> in,
        @Nullable Envelope<Object> out,
        Map<String, String> meta,
        LineageOutcome outcome,
        int attempts,
        int childCount,
        @Nullable String detail) {
      if (events == null) {
        events = new ArrayList<>();
      }
      // a stage that set no metadata hands the record's map on as it is (Envelope.withPayload):
      // then it set no branch and gave no verdicts, and the map is not walked for them
      boolean metaChanged = meta != in.metadata();
      String verdicts = metaChanged ? meta.get(VIOLATIONS) : null;
      if (verdicts != null && verdicts.equals(in.metadata().get(VIOLATIONS))) {
        verdicts = null; // given at an earlier stage
      }
      Object payload = in.payload();
      long inputHash;
      boolean fresh = false;
      Hashed before = handed == null ? null : handed.get(in.id());
      if (before != null && before.payload == payload) {
        inputHash = before.hash;
      } else {
        inputHash = payloadHash(payload);
        fresh = true;
      }
      Long outputHash = null;
      if (out != null) {
        // the same object hashed at the same moment has the same hash; one the stage may have
        // changed since its input hash was taken is hashed again, unless nothing in it can change
        // (a sink's output is what it was given); an output that wraps the input takes the
        // input's hash for it (PayloadHash)
        Object output = out.payload();
        outputHash =
            atSink || (output == payload && (fresh || PayloadHash.unchanging(output)))
                ? inputHash
                : output == payload
                    ? payloadHash(output)
                    : PayloadHash.of(output, payload, inputHash);
      }
      Map<String, String> inMeta = in.metadata();
      String sourceId;
      String parentId;
      if (before != null && before.metadata == inMeta) {
        sourceId = before.sourceId;
        parentId = before.parentId;
      } else {
        sourceId = inMeta.get(Envelope.SOURCE_ID);
        parentId = inMeta.get(Envelope.PARENT_ID);
      }
      if (handed != null) {
        if (out != null && handsOn) {
          boolean same = before != null && out.id().equals(in.id());
          hand(out, outputHash, inMeta, sourceId, parentId, same ? before : null);
        } else if (before != null) {
          handed.remove(in.id());
        }
      }
      events.add(
          new LineageEvent(
              in.id(),
              stage,
              outcome,
              entered,
              left,
              attempts,
              inputHash,
              outputHash,
              sourceId,
              parentId,
              childCount,
              metaChanged ? branch(in.metadata(), meta) : null,
              verdicts,
              detail,
              first ? in.metadata().get(Envelope.SOURCE_POSITION) : null));
    }

    /** The branch and implementation entries the stage set (those the record had are not). */
    private @Nullable String branch(Map<String, String> before, Map<String, String> meta) {
      StringBuilder b = null;
      for (Map.Entry<String, String> e : meta.entrySet()) {
        String key = e.getKey();
        if ((key.startsWith(BRANCH) || key.equals(IMPLEMENTATION + stage))
            && !e.getValue().equals(before.get(key))) {
          b = b == null ? new StringBuilder() : b.append(',');
          b.append(key).append('=').append(e.getValue());
          if (b.length() > LineageEvent.MAX_TEXT) {
            break;
          }
        }
      }
      return b == null ? null : b.toString();
    }
  }
}
