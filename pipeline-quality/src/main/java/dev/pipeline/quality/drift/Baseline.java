package dev.pipeline.quality.drift;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a window is compared with: a profile pinned once (from an earlier run, or a known good
 * period of this one), or the last {@code n} windows before it, rolling.
 *
 * <p>Immutable and thread-safe.
 */
public final class Baseline {

  /** The most windows a rolling baseline may span. */
  public static final int MAX_ROLLING_WINDOWS = 1_000;

  private final @Nullable WindowProfile pinned;
  private final int windows;

  private Baseline(@Nullable WindowProfile pinned, int windows) {
    this.pinned = pinned;
    this.windows = windows;
  }

  /**
   * Always the same profile, e.g. the {@link WindowProfile#plus sum} of an earlier run's windows.
   *
   * @throws NullPointerException if {@code profile} is null
   */
  public static Baseline pinned(WindowProfile profile) {
    return new Baseline(Objects.requireNonNull(profile, "profile cannot be null"), 0);
  }

  /**
   * The sum of the last {@code windows} windows before the one compared; the first window has no
   * baseline (its fields are {@link DriftLevel#INSUFFICIENT_DATA}).
   *
   * @throws IllegalArgumentException if outside [1, {@value #MAX_ROLLING_WINDOWS}]
   */
  public static Baseline rolling(int windows) {
    if (windows < 1 || windows > MAX_ROLLING_WINDOWS) {
      throw new IllegalArgumentException(
          "a rolling baseline spans 1 to " + MAX_ROLLING_WINDOWS + " windows, got " + windows);
    }
    return new Baseline(null, windows);
  }

  /** The pinned profile, or null for a rolling baseline. */
  @Nullable WindowProfile pinnedProfile() {
    return pinned;
  }

  /** How many windows a rolling baseline spans; 0 if pinned. */
  int windows() {
    return windows;
  }

  @Override
  public String toString() {
    return pinned != null
        ? "pinned (" + pinned.start() + " to " + pinned.end() + ")"
        : "rolling over " + windows + " windows";
  }
}
