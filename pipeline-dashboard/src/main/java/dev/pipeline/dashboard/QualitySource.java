package dev.pipeline.dashboard;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the dashboard's quality page shows, filled by the host: each quality gate's state and rule
 * failures, the quality scores of recent windows, and the drift and anomaly alerts worth a look.
 * The dashboard does not depend on {@code pipeline-quality}; a host that has gates, scores and a
 * drift monitor adapts them to these values, so a host without them pulls in nothing.
 *
 * <pre>{@code
 * QualitySource quality = new QualitySource() {
 *   public Snapshot quality(String pipeline) {
 *     GateCounts c = gate.counts();
 *     return new Snapshot(
 *         List.of(new Gate("validation", GateState.valueOf(gate.state().name()),
 *             c.records(), c.tagged(), c.filtered(), c.deadLettered(), c.failuresByRule(), true)),
 *         List.of(), List.of());
 *   }
 *   public boolean reopen(String pipeline, String stage, String by) {
 *     gate.reopen(by);
 *     return true;
 *   }
 * };
 * Dashboard.builder().pipeline(pipeline).quality(quality).start();
 * }</pre>
 *
 * <p>Implementations must be thread-safe: the dashboard calls them from its request threads, on
 * every view of a page and every poll of an open one (each 2 s), so they answer from memory.
 */
public interface QualitySource {
  /** The most scores and findings shown per pipeline; more are cut (the newest kept). */
  int MAX_SHOWN = 50;

  /**
   * The quality of one pipeline now.
   *
   * @param pipeline a pipeline on the dashboard
   * @return its gates, scores and findings; {@link Snapshot#EMPTY} if it has none
   */
  Snapshot quality(String pipeline);

  /**
   * Reopens a pipeline's closed gate at once, as an operator's decision. The dashboard asks only
   * for a gate whose {@link Gate#reopenable()} is true and keeps the decision in the pipeline's
   * audit trail with who made it. A source that cannot reopen gates keeps this default.
   *
   * @param pipeline the pipeline
   * @param stage the gate's stage
   * @param by who reopens it (a signed-in user's name, or {@code "dashboard"})
   * @return whether a gate was reopened; false if there is no such gate
   */
  default boolean reopen(String pipeline, String stage, String by) {
    return false;
  }

  /** The states of a gate, as {@code QualityGate.State} names them. */
  enum GateState {
    /** Records pass, each still checked. */
    OPEN,
    /** Records are held until the gate reopens. */
    CLOSED,
    /** Records pass on trial after being closed. */
    TRIAL
  }

  /** How loud a finding is. */
  enum Severity {
    /** Worth a look. */
    WARN,
    /** To act on. */
    ALERT
  }

  /**
   * One pipeline's quality now.
   *
   * @param gates its quality gates
   * @param scores quality scores of recent windows, oldest first (the newest {@link #MAX_SHOWN} are
   *     shown)
   * @param findings drift and anomaly alerts worth a look now, oldest first (the newest {@link
   *     #MAX_SHOWN} are shown)
   */
  record Snapshot(List<Gate> gates, List<Score> scores, List<Finding> findings) {
    /** A pipeline without gates, scores or findings. */
    public static final Snapshot EMPTY = new Snapshot(List.of(), List.of(), List.of());

    /**
     * Copies the lists.
     *
     * @throws NullPointerException if a list or an element is null
     */
    public Snapshot {
      gates = List.copyOf(gates);
      scores = List.copyOf(scores);
      findings = List.copyOf(findings);
    }
  }

  /**
   * A quality gate between two stages.
   *
   * @param stage the gate's stage
   * @param state its state now
   * @param records records checked since it was built
   * @param tagged records that went on with violations noted
   * @param filtered records filtered by a rule
   * @param deadLettered records dead-lettered by a rule
   * @param failuresByRule how many records failed each rule, copied in iteration order
   * @param reopenable whether {@link QualitySource#reopen} can reopen it
   */
  record Gate(
      String stage,
      GateState state,
      long records,
      long tagged,
      long filtered,
      long deadLettered,
      Map<String, Long> failuresByRule,
      boolean reopenable) {
    /**
     * Checks and copies the components.
     *
     * @throws NullPointerException if a component, a rule or a count is null
     * @throws IllegalArgumentException if a count is negative
     */
    public Gate {
      Objects.requireNonNull(stage, "stage cannot be null");
      Objects.requireNonNull(state, "state cannot be null");
      Objects.requireNonNull(failuresByRule, "failuresByRule cannot be null");
      if (records < 0 || tagged < 0 || filtered < 0 || deadLettered < 0) {
        throw new IllegalArgumentException("a gate's counts cannot be negative");
      }
      Map<String, Long> copy = new LinkedHashMap<>();
      failuresByRule.forEach(
          (rule, n) -> {
            Objects.requireNonNull(rule, "a rule's name cannot be null");
            Objects.requireNonNull(n, "rule '" + rule + "' has a null count");
            copy.put(rule, n);
          });
      failuresByRule = Collections.unmodifiableMap(copy);
    }
  }

  /**
   * The quality scores of one stage over one window.
   *
   * @param stage the stage scored
   * @param end when the window closed
   * @param byDimension each measured dimension's score, 0 to 100, in iteration order
   * @param overall the overall score, 0 to 100, or null if none was measured
   */
  record Score(
      String stage, Instant end, Map<String, Double> byDimension, @Nullable Double overall) {
    /**
     * Checks and copies the components.
     *
     * @throws NullPointerException if a component other than {@code overall} is null
     * @throws IllegalArgumentException if a score is outside 0 to 100
     */
    public Score {
      Objects.requireNonNull(stage, "stage cannot be null");
      Objects.requireNonNull(end, "end cannot be null");
      Map<String, Double> copy = new LinkedHashMap<>();
      byDimension.forEach(
          (dimension, score) -> {
            Objects.requireNonNull(dimension, "a dimension's name cannot be null");
            checkScore(dimension, score);
            copy.put(dimension, score);
          });
      byDimension = Collections.unmodifiableMap(copy);
      if (overall != null) {
        checkScore("overall", overall);
      }
    }

    private static void checkScore(String name, @Nullable Double score) {
      if (score == null || !(score >= 0 && score <= 100)) {
        throw new IllegalArgumentException(
            "the " + name + " score must be from 0 to 100, was " + score);
      }
    }
  }

  /**
   * A drift or anomaly alert.
   *
   * @param at when it was found (a window's end)
   * @param stage the stage it is about
   * @param severity how loud it is
   * @param text one sentence for people, e.g. {@code FieldDrift.describe()}
   */
  record Finding(Instant at, String stage, Severity severity, String text) {
    /**
     * Checks the components.
     *
     * @throws NullPointerException if a component is null
     */
    public Finding {
      Objects.requireNonNull(at, "at cannot be null");
      Objects.requireNonNull(stage, "stage cannot be null");
      Objects.requireNonNull(severity, "severity cannot be null");
      Objects.requireNonNull(text, "text cannot be null");
    }
  }
}
