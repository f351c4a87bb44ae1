package dev.pipeline.internal;

import dev.pipeline.Envelope;
import dev.pipeline.StageContext;
import dev.pipeline.engine.Splits;
import dev.pipeline.store.StorableText;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The metadata keys the engine alone writes: where a split record belongs ({@link
 * Envelope#PARENT_ID}, {@link Envelope#SPLIT_SIZE}, {@link Envelope#OUTER_SPLIT_SIZES}) and what
 * the sink is told of a hand-over ({@link Envelope#FENCING_TOKEN}, {@link Envelope#REDELIVERED}). A
 * stage that set one would place records in groups that are not theirs (a merge then waits for
 * parts that never come, or merges siblings into a record that is never made) or forge a sink's
 * fencing, so {@code StageContext.putMetadata} refuses them; the stage's call fails, and only its
 * record.
 *
 * <p>The keys also come back from outside the engine: a source's records (which are roots, so carry
 * none of them) and a store's rows (which an operator may have edited in SQL). {@link #keysIn} and
 * {@link #storedProblem} say which records the engine cannot take as they are.
 */
public final class EngineMetadata {
  private static final Set<String> KEYS =
      Set.of(
          Envelope.PARENT_ID,
          Envelope.SPLIT_SIZE,
          Envelope.OUTER_SPLIT_SIZES,
          Envelope.FENCING_TOKEN,
          Envelope.REDELIVERED);

  /** The keys in a fixed order, for messages. */
  private static final List<String> ORDER =
      List.of(
          Envelope.PARENT_ID,
          Envelope.SPLIT_SIZE,
          Envelope.OUTER_SPLIT_SIZES,
          Envelope.FENCING_TOKEN,
          Envelope.REDELIVERED);

  /** The most characters of a forged value an error shows. */
  private static final int SHOWN = 100;

  private EngineMetadata() {}

  /** The engine's keys among {@code metadata}'s, in a fixed order; empty if none. */
  public static List<String> keysIn(Map<String, String> metadata) {
    List<String> found = List.of();
    for (String key : ORDER) {
      if (metadata.containsKey(key)) {
        if (found.isEmpty()) {
          found = new ArrayList<>(2);
        }
        found.add(key);
      }
    }
    return found;
  }

  /**
   * Why a record a store handed back cannot be taken as the engine wrote it, or null if it can: its
   * engine keys do not hold together as the engine writes them (a child's id is {@code
   * parent/index}, a size is a whole number from 1 to {@value Splits#MAX_CHILDREN}, the outer sizes
   * are such numbers joined by commas). A row edited by hand, or by a store of someone else's,
   * fails this way rather than a merge group or the run. The sink's keys are not checked: the
   * engine takes them off a claimed record and sets them afresh from the store's hand-over.
   */
  public static @Nullable String storedProblem(String id, Map<String, String> metadata) {
    String parent = metadata.get(Envelope.PARENT_ID);
    String size = metadata.get(Envelope.SPLIT_SIZE);
    String outer = metadata.get(Envelope.OUTER_SPLIT_SIZES);
    if (parent == null) {
      String orphan =
          size != null ? Envelope.SPLIT_SIZE : outer != null ? Envelope.OUTER_SPLIT_SIZES : null;
      return orphan == null
          ? null
          : shown(orphan, metadata) + " without '" + Envelope.PARENT_ID + "'";
    }
    if (parent.isBlank()
        || !id.startsWith(parent)
        || id.length() <= parent.length()
        || id.charAt(parent.length()) != '/') {
      return shown(Envelope.PARENT_ID, metadata)
          + ", but a child's id is its parent's, '/' and its index";
    }
    if (size != null && !isSize(size)) {
      return shown(Envelope.SPLIT_SIZE, metadata)
          + ", not a whole number from 1 to "
          + Splits.MAX_CHILDREN;
    }
    if (outer != null) {
      if (size == null) {
        return shown(Envelope.OUTER_SPLIT_SIZES, metadata)
            + " without '"
            + Envelope.SPLIT_SIZE
            + "'";
      }
      String[] sizes = outer.split(",", -1);
      // one outer size per enclosing pair: each stands for a level of the parent's id
      boolean fits = sizes.length <= parent.chars().filter(c -> c == '/').count();
      for (String s : sizes) {
        fits &= isSize(s);
      }
      if (!fits) {
        return shown(Envelope.OUTER_SPLIT_SIZES, metadata)
            + ", not one whole number from 1 to "
            + Splits.MAX_CHILDREN
            + " per enclosing split, joined by ','";
      }
    }
    return null;
  }

  private static boolean isSize(String text) {
    if (text.isEmpty() || text.length() > 6) {
      return false;
    }
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) < '0' || text.charAt(i) > '9') {
        return false;
      }
    }
    int n = Integer.parseInt(text);
    return n >= 1 && n <= Splits.MAX_CHILDREN;
  }

  /** "metadata key 'k' = 'value'", the value escaped and cut. */
  public static String shown(String key, Map<String, String> metadata) {
    return "metadata key '"
        + key
        + "' = '"
        + ErrorText.loggable(StorableText.escape(metadata.getOrDefault(key, "")), SHOWN)
        + "'";
  }

  /**
   * Why a stage cannot add this entry to its record's metadata, or null if it can: the key or value
   * is longer than {@link dev.pipeline.StageContext#MAX_METADATA_KEY_CHARS} or {@link
   * dev.pipeline.StageContext#MAX_METADATA_VALUE_CHARS} characters, or the call already added
   * {@link dev.pipeline.StageContext#MAX_METADATA_ENTRIES} other keys. Metadata travels with the
   * record into every row, error and lineage event the store writes of it, so it is bounded where
   * it enters.
   *
   * @param added the entries the call added so far
   * @param replaces whether the key is among them (so the count does not grow)
   */
  public static @Nullable String entryProblem(
      String key, String value, int added, boolean replaces) {
    if (key.isEmpty()) {
      return "the key is empty";
    }
    if (key.length() > StageContext.MAX_METADATA_KEY_CHARS) {
      return "the key is "
          + key.length()
          + " characters long, more than "
          + StageContext.MAX_METADATA_KEY_CHARS;
    }
    if (value.length() > StageContext.MAX_METADATA_VALUE_CHARS) {
      return "its value is "
          + value.length()
          + " characters long, more than "
          + StageContext.MAX_METADATA_VALUE_CHARS;
    }
    if (!replaces && added >= StageContext.MAX_METADATA_ENTRIES) {
      return "the call already added " + added + " keys, the most one call may add";
    }
    return null;
  }

  /**
   * A source's metadata within the bounds a stage's is held to ({@link #entryProblem}), or null if
   * it is within them already: without the entries whose key or value is too long, and without
   * those past the {@link StageContext#MAX_METADATA_ENTRIES}th. {@link Envelope#SOURCE_ERROR} is
   * kept whatever its length: it is cut where it is read.
   */
  public static @Nullable Map<String, String> withinBounds(Map<String, String> metadata) {
    if (metadata.size() <= StageContext.MAX_METADATA_ENTRIES && fits(metadata)) {
      return null; // the common case: a loop over a few entries, no copy
    }
    Map<String, String> kept = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      String key = e.getKey();
      boolean error = key.equals(Envelope.SOURCE_ERROR);
      if (error
          || kept.size() < StageContext.MAX_METADATA_ENTRIES
              && entryProblem(key, e.getValue(), 0, false) == null) {
        kept.put(key, e.getValue());
      }
    }
    return kept;
  }

  private static boolean fits(Map<String, String> metadata) {
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      if (entryProblem(e.getKey(), e.getValue(), 0, false) != null
          && !e.getKey().equals(Envelope.SOURCE_ERROR)) {
        return false;
      }
    }
    return true;
  }

  /**
   * A stage's context that also takes the marks of the library's own composite stages outside the
   * count of entries a call may add: a route's branch, a balancer's choice, a fallback's degraded
   * mark, the entries a parallel stage's branches added (each branch held to the count itself). The
   * count bounds what a stage's own code adds; a stage within it must not fail because the stage
   * wrapping it marked the record too. Keys and values are still held to their lengths.
   */
  public interface Marks {
    /**
     * Adds an entry that does not count toward the call's {@link
     * StageContext#MAX_METADATA_ENTRIES}.
     */
    void putMark(String key, String value);
  }

  /**
   * The {@link Marks} of contexts whose public type must not implement this internal interface (the
   * test kit's {@code TestStageContext}), by the context's class: registered once, when that class
   * is initialized.
   */
  private static final Map<Class<?>, Function<StageContext, Marks>> DELEGATES =
      new ConcurrentHashMap<>();

  /**
   * Has {@link #putMark} hand the marks of contexts of exactly {@code type} to the {@link Marks}
   * that {@code delegate} gives for the context, as the engine's contexts take them.
   */
  public static <C extends StageContext> void takeMarksThrough(
      Class<C> type, Function<? super C, ? extends Marks> delegate) {
    Objects.requireNonNull(delegate, "delegate cannot be null");
    DELEGATES.put(type, context -> delegate.apply(type.cast(context)));
  }

  /**
   * Adds a composite stage's mark through {@link Marks} where the context takes marks (the engine's
   * contexts and the test kit's do), else as the stage's own entry (a context of the user's own
   * counts it).
   */
  public static void putMark(StageContext context, String key, String value) {
    if (context instanceof Marks marks) {
      marks.putMark(key, value);
      return;
    }
    Function<StageContext, Marks> delegate = DELEGATES.get(context.getClass());
    if (delegate != null) {
      delegate.apply(context).putMark(key, value);
    } else {
      context.putMetadata(key, value);
    }
  }

  /**
   * Checks an entry a call adds through {@code context} to the entries it {@code added} so far,
   * {@code marks} of them {@link Marks marks}: a mark is held to the lengths only.
   *
   * @return whether the entry is a new mark (the caller counts it)
   * @throws IllegalArgumentException as {@link #refusedEntry}, if {@link #entryProblem} refuses it
   */
  public static boolean admit(
      @Nullable Map<String, String> added,
      int marks,
      String key,
      String value,
      boolean mark,
      StageContext context) {
    boolean replaces = added != null && added.containsKey(key);
    String problem =
        entryProblem(key, value, added == null ? 0 : added.size() - marks, replaces || mark);
    if (problem != null) {
      throw refusedEntry(context.stage().value(), context.recordIds(), key, problem);
    }
    return mark && !replaces;
  }

  /**
   * The entries a call added, with {@code key} set to {@code value}: {@code added} itself once it
   * is a map that grows, else a new one. Most stages that add metadata add one entry (a route's
   * branch, a balancer's choice): a map of one is a small object, copied into the record once.
   */
  public static Map<String, String> with(
      @Nullable Map<String, String> added, String key, String value) {
    if (added == null) {
      return Map.of(key, value);
    }
    Map<String, String> grown =
        added instanceof LinkedHashMap<String, String> map ? map : new LinkedHashMap<>(added);
    grown.put(key, value);
    return grown;
  }

  /**
   * The error of a stage's call that added an entry {@link #entryProblem} refused: it fails the
   * call, as a call that throws does, so only its record (or the records of its batch call).
   */
  public static IllegalArgumentException refusedEntry(
      String stage, List<String> records, String key, String problem) {
    String which =
        records.size() == 1
            ? "record '" + ErrorText.loggable(StorableText.escape(records.get(0)), SHOWN) + "'"
            : "the "
                + records.size()
                + " records of its call (the first '"
                + ErrorText.loggable(StorableText.escape(records.get(0)), SHOWN)
                + "')";
    return new IllegalArgumentException(
        "stage '"
            + stage
            + "' cannot add metadata key '"
            + ErrorText.loggable(StorableText.escape(key), SHOWN)
            + "' to "
            + which
            + ": "
            + problem
            + ". Metadata travels with the record into every stored row, error and lineage event:"
            + " keep large data in the payload, or put a reference to it (an id, a URL) in the"
            + " metadata");
  }

  /**
   * Checks a key a stage adds to its record's metadata.
   *
   * @throws IllegalArgumentException if the key is one the engine alone writes
   */
  public static void checkStageKey(String key) {
    if (KEYS.contains(key)) {
      throw new IllegalArgumentException(
          "metadata key '"
              + key
              + "' is written by the engine only (it places split records in their merge groups"
              + " and tells the sink of a hand-over); a stage cannot set it: use a key of your own,"
              + " e.g. '"
              + key
              + "-note'");
    }
  }
}
