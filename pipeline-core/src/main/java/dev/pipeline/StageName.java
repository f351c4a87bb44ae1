package dev.pipeline;

import dev.pipeline.internal.ErrorText;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The name of a stage: one of the eight canonical stages, which keep their order in a pipeline, or
 * a name of the user's, which may stand anywhere.
 *
 * <p>Immutable and thread-safe; compare with {@code equals}.
 */
public final class StageName implements Comparable<StageName> {
  private static final Pattern VALID = Pattern.compile("[a-z][a-z0-9_-]{0,62}");

  /** What follows a route stage's and a branch's names in the name of the branch's sink. */
  private static final String SINK_SUFFIX = "/sink";

  private static final Pattern BRANCH_SINK =
      Pattern.compile("[a-z][a-z0-9_-]{0,62}/[a-z][a-z0-9_-]{0,62}" + SINK_SUFFIX);

  /** Pulls raw records from sources. */
  public static final StageName INGESTION = new StageName("ingestion", 1);

  /** Removes noise, handles missing values, standardises formats. */
  public static final StageName CLEANING = new StageName("cleaning", 2);

  /** Pulls entities and key values out of the record. */
  public static final StageName EXTRACTION = new StageName("extraction", 3);

  /** Sentiment, diagnostics, pattern recognition. */
  public static final StageName ANALYSIS = new StageName("analysis", 4);

  /** Multi-language processing and localisation. */
  public static final StageName TRANSLATION = new StageName("translation", 5);

  /** Quality checks against the defined rules. */
  public static final StageName VALIDATION = new StageName("validation", 6);

  /** Preparation for search and retrieval. */
  public static final StageName INDEXING = new StageName("indexing", 7);

  /** Hands results to downstream consumers, idempotently. */
  public static final StageName PUBLISHING = new StageName("publishing", 8);

  private static final List<StageName> CANONICAL =
      List.of(
          INGESTION, CLEANING, EXTRACTION, ANALYSIS, TRANSLATION, VALIDATION, INDEXING, PUBLISHING);

  private final String name;
  private final int canonicalOrder;

  private StageName(String name, int canonicalOrder) {
    this.name = name;
    this.canonicalOrder = canonicalOrder;
  }

  /** The eight canonical stages, in their order. */
  public static List<StageName> canonical() {
    return CANONICAL;
  }

  /**
   * Returns the stage name for a string: the canonical stage of that name, a user-named stage, or
   * the name of a route branch's sink ({@code <route>/<branch>/sink}, see {@link #branchSink}),
   * under which that sink's metrics, circuit and options are read.
   *
   * @param name lower case letters, digits, '-' and '_', starting with a letter, at most 63 chars;
   *     or two such names and {@code sink}, separated by '/'
   * @throws NullPointerException if the name is null
   * @throws IllegalArgumentException if the name is not of that form
   */
  public static StageName of(String name) {
    Objects.requireNonNull(name, "stage name cannot be null");
    for (StageName canonical : CANONICAL) {
      if (canonical.name.equals(name)) {
        return canonical;
      }
    }
    if (!VALID.matcher(name).matches() && !BRANCH_SINK.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "invalid stage name '"
              + ErrorText.escape(ErrorText.cut(name, 200))
              + "': use lower case letters, digits, '-' and '_', starting with a letter, at most 63"
              + " characters (e.g. \"dedupe\"), or <route>/<branch>/sink for a route branch's"
              + " sink");
    }
    return new StageName(name, 0);
  }

  /**
   * The name of the sink of branch {@code branch} of the route stage {@code route}: {@code
   * <route>/<branch>/sink}. A branch's sink is called as a stage of its own: its metrics ({@link
   * dev.pipeline.metrics.PipelineMetrics#branchSinks()}, the metrics history), circuit transitions,
   * alerts, audit lines and the errors it causes are under this name. It cannot name a stage or a
   * branch.
   *
   * @throws NullPointerException if an argument is null
   */
  public static StageName branchSink(StageName route, StageName branch) {
    Objects.requireNonNull(route, "route cannot be null");
    Objects.requireNonNull(branch, "branch cannot be null");
    return new StageName(route.name + "/" + branch.name + SINK_SUFFIX, 0);
  }

  /** Whether this names a route branch's sink ({@link #branchSink}) rather than a stage. */
  public boolean isBranchSink() {
    return name.endsWith(SINK_SUFFIX) && name.indexOf('/') < name.length() - SINK_SUFFIX.length();
  }

  /** The name as a string. */
  public String value() {
    return name;
  }

  /** Whether this is one of the eight canonical stages. */
  public boolean isCanonical() {
    return canonicalOrder > 0;
  }

  /** The position among the canonical stages, 1 to 8, or 0 for a user-named stage. */
  public int canonicalOrder() {
    return canonicalOrder;
  }

  @Override
  public int compareTo(StageName other) {
    return name.compareTo(other.name);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StageName that && name.equals(that.name);
  }

  @Override
  public int hashCode() {
    return name.hashCode();
  }

  @Override
  public String toString() {
    return name;
  }
}
