package dev.pipeline.bench;

/**
 * A listing the validator rejected: the validation stage throws it, so the pipeline dead-letters
 * the listing, and the plain loop catches it and keeps it as its dead letter.
 */
final class ListingRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  ListingRejectedException(String reason) {
    super(reason);
  }
}
