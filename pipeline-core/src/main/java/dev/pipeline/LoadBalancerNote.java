package dev.pipeline;

/**
 * Text a load-balanced stage attaches to an exception: which implementation threw it (as a
 * suppressed exception), or what each circuit said when all refused (as a cause). Not thrown on its
 * own; carries no stack trace, since where it was made says nothing.
 */
final class LoadBalancerNote extends RuntimeException {
  private static final long serialVersionUID = 1L;

  LoadBalancerNote(String message) {
    super(message, null, false, false);
  }
}
