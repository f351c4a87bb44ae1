package dev.pipeline.dashboard;

/** A request the dashboard refuses with a status and a message safe to show (no secrets). */
final class BadRequestException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;

  BadRequestException(int status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  BadRequestException(String message) {
    this(400, message);
  }

  int status() {
    return status;
  }
}
