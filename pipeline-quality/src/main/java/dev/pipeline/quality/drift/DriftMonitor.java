package dev.pipeline.quality.drift;

import dev.pipeline.Alert;
import dev.pipeline.AlertListener;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * Compares each closed window of a {@link FieldProfiler} with a {@link Baseline} by a {@link
 * DriftPolicy}, keeps the results, and raises an {@link Alert.Kind#DATA_DRIFT} alert for each field
 * at {@link DriftLevel#WARN} or {@link DriftLevel#ALERT}. Hand it the profiler's windows with
 * {@code FieldProfiler.Builder.onWindow(monitor::check)}.
 *
 * <p>Thread-safe.
 */
public final class DriftMonitor {

  /** The most results a monitor may keep. */
  public static final int MAX_KEPT = 10_000;

  private final String pipeline;
  private final DriftPolicy policy;
  private final int keep;
  private final List<AlertListener> alerts;
  private final ReentrantLock lock = new ReentrantLock();

  // guarded by lock
  private Baseline baseline;
  private final Deque<WindowProfile> recent = new ArrayDeque<>();
  private final Deque<WindowDrift> results = new ArrayDeque<>();

  private DriftMonitor(Builder b) {
    this.pipeline = b.pipeline;
    this.policy = b.policy;
    this.keep = b.keep;
    this.alerts = List.copyOf(b.alerts);
    this.baseline = b.baseline;
  }

  /**
   * A builder of a monitor for {@code pipeline} (the name its alerts carry).
   *
   * @throws NullPointerException if {@code pipeline} is null
   */
  public static Builder builder(String pipeline) {
    return new Builder(pipeline);
  }

  /**
   * Compares {@code window} with the baseline, keeps the result and raises alerts for drifted
   * fields. With a rolling baseline the window then joins the baseline of the next ones.
   *
   * @return each field's drift; fields absent from the baseline are {@link
   *     DriftLevel#INSUFFICIENT_DATA}
   */
  public WindowDrift check(WindowProfile window) {
    Objects.requireNonNull(window, "window cannot be null");
    WindowDrift drift;
    lock.lock();
    try {
      WindowProfile reference = reference();
      List<FieldDrift> fields = new ArrayList<>(window.fields().size());
      for (FieldProfile field : window.fields().values()) {
        FieldProfile base = reference == null ? null : reference.fields().get(field.name());
        fields.add(
            base != null && base.kind() == field.kind()
                ? Drift.compare(base, field, policy)
                : Drift.compare(empty(field), field, policy));
      }
      drift =
          new WindowDrift(window.stage(), window.start(), window.end(), window.records(), fields);
      if (baseline.pinnedProfile() == null) {
        recent.addLast(window);
        while (recent.size() > baseline.windows()) {
          recent.removeFirst();
        }
      }
      results.addLast(drift);
      while (results.size() > keep) {
        results.removeFirst();
      }
    } finally {
      lock.unlock();
    }
    for (FieldDrift field : drift.fields()) {
      if (field.level() == DriftLevel.WARN || field.level() == DriftLevel.ALERT) {
        raise(drift, field);
      }
    }
    return drift;
  }

  private @Nullable WindowProfile reference() {
    WindowProfile pinned = baseline.pinnedProfile();
    if (pinned != null) {
      return pinned;
    }
    return recent.stream().reduce(WindowProfile::plus).orElse(null);
  }

  /** A profile with no record, standing for a baseline that lacks the field. */
  private static FieldProfile empty(FieldProfile like) {
    return new FieldProfile(
        like.name(),
        like.kind(),
        0,
        0,
        0,
        new int[0],
        new long[0],
        Double.NaN,
        Double.NaN,
        0,
        List.of(),
        like.capacity(),
        new long[FieldProfile.LENGTH_BINS],
        0);
  }

  /**
   * Pins the baseline to {@code profile} from now on (e.g. after a change to the data that is
   * expected), or replaces the baseline with another one.
   */
  public void baseline(Baseline baseline) {
    Objects.requireNonNull(baseline, "baseline cannot be null");
    lock.lock();
    try {
      this.baseline = baseline;
      recent.clear();
    } finally {
      lock.unlock();
    }
  }

  /** The results kept, oldest first. */
  public List<WindowDrift> results() {
    lock.lock();
    try {
      return List.copyOf(results);
    } finally {
      lock.unlock();
    }
  }

  private void raise(WindowDrift window, FieldDrift field) {
    String message =
        String.format(
            Locale.ROOT,
            "data drift %s on stage '%s', field '%s', window %s to %s: %s. If the change is"
                + " expected, pin a new baseline; otherwise check what feeds the stage",
            field.level() == DriftLevel.ALERT ? "alert" : "warning",
            window.stage(),
            field.field(),
            window.start(),
            window.end(),
            field.describe());
    Alert alert =
        new Alert(Alert.Kind.DATA_DRIFT, pipeline, window.stage(), null, message, window.end());
    Alerts.deliver(alerts, alert);
  }

  /** Configures a {@link DriftMonitor}. Not thread-safe. */
  public static final class Builder {
    private final String pipeline;
    private final List<AlertListener> alerts = new ArrayList<>();
    private DriftPolicy policy = DriftPolicy.defaults();
    private Baseline baseline = Baseline.rolling(12);
    private int keep = 288;

    private Builder(String pipeline) {
      this.pipeline = Objects.requireNonNull(pipeline, "pipeline cannot be null");
    }

    /** The thresholds; {@link DriftPolicy#defaults()} unless set. */
    public Builder policy(DriftPolicy policy) {
      this.policy = Objects.requireNonNull(policy, "policy cannot be null");
      return this;
    }

    /** The baseline; the last 12 windows, rolling, unless set. */
    public Builder baseline(Baseline baseline) {
      this.baseline = Objects.requireNonNull(baseline, "baseline cannot be null");
      return this;
    }

    /**
     * How many results to keep for {@link #results()}; 288 unless set.
     *
     * @throws IllegalArgumentException if outside [1, {@value DriftMonitor#MAX_KEPT}]
     */
    public Builder keep(int results) {
      if (results < 1 || results > MAX_KEPT) {
        throw new IllegalArgumentException("keep must be in [1, " + MAX_KEPT + "], got " + results);
      }
      this.keep = results;
      return this;
    }

    /** Adds a listener for drift alerts, e.g. the pipeline's. */
    public Builder alerts(AlertListener listener) {
      alerts.add(Objects.requireNonNull(listener, "listener cannot be null"));
      return this;
    }

    /** The monitor. */
    public DriftMonitor build() {
      return new DriftMonitor(this);
    }
  }
}
