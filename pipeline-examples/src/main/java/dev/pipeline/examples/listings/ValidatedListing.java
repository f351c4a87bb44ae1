package dev.pipeline.examples.listings;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A translated listing with the verdict of {@link ListingValidator}: the rules it breaks and a
 * completeness score. Immutable.
 *
 * <p>The verdict is spelled out by {@link #outcome()}: any {@link Severity#ERROR} rejects the
 * listing (dead letter), otherwise any {@link Severity#FILTER} filters it, otherwise it is
 * accepted, warnings and all.
 *
 * @param listing the translated listing
 * @param violations broken rules, gravest first
 * @param quality completeness in [0, 1]: the weighted share of the facts a buyer looks for that the
 *     listing provides
 */
public record ValidatedListing(
    TranslatedListing listing, List<Violation> violations, double quality) {

  /** What the pipeline should do with a validated listing. */
  public enum Outcome {
    /** Publish it. */
    ACCEPTED,
    /** Leave it out on purpose; {@link #reason()} says why. */
    FILTERED,
    /** Dead-letter it; {@link #reason()} says what is broken. */
    REJECTED
  }

  public ValidatedListing {
    Objects.requireNonNull(listing, "listing");
    violations = List.copyOf(violations);
    if (!(quality >= 0.0 && quality <= 1.0)) {
      throw new IllegalArgumentException("quality " + quality + " outside [0, 1]");
    }
  }

  /** The listing id. */
  public String id() {
    return listing.id();
  }

  public Outcome outcome() {
    Severity worst = worstSeverity();
    if (worst == Severity.ERROR) {
      return Outcome.REJECTED;
    }
    return worst == Severity.FILTER ? Outcome.FILTERED : Outcome.ACCEPTED;
  }

  /**
   * Whether the listing should be published: no errors and no filter rule hit. Warnings do not
   * matter.
   */
  public boolean passes() {
    return outcome() == Outcome.ACCEPTED;
  }

  /** The violations of one severity, in order. */
  public List<Violation> violations(Severity severity) {
    return violations.stream().filter(v -> v.severity() == severity).toList();
  }

  /**
   * Why the listing is filtered or rejected: the messages of its gravest violations joined with ";
   * ", prefixed with the listing id. Empty when the listing is accepted.
   */
  public String reason() {
    Severity worst = worstSeverity();
    if (worst == null || worst == Severity.WARNING) {
      return "";
    }
    return violations.stream()
        .filter(v -> v.severity() == worst)
        .map(v -> v.rule() + ": " + v.message())
        .collect(Collectors.joining("; ", "listing " + id() + ": ", ""));
  }

  private Severity worstSeverity() {
    Severity worst = null;
    for (Violation v : violations) {
      if (worst == null || v.severity().compareTo(worst) > 0) {
        worst = v.severity();
      }
    }
    return worst;
  }
}
