package dev.pipeline.examples.app;

/**
 * A listing that breaks a validation rule of severity ERROR: it goes to the dead letter queue with
 * this message, which names the listing and every broken rule.
 */
public final class ListingRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with the validator's reason. */
  public ListingRejectedException(String reason) {
    super(reason);
  }
}
