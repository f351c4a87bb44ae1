package dev.pipeline;

import org.jspecify.annotations.Nullable;

/**
 * A lookup in {@link ReferenceData} that failed: its loader threw, or found no value for the key,
 * or the wait for it was interrupted. Thrown into the stage that looked it up, so the record
 * follows the stage's retry policy and, if it still fails, goes to the dead letter queue with this
 * error; a policy can tell these errors apart with {@code retryOn(ReferenceDataException.class)} or
 * {@code abortOn(...)}.
 */
public final class ReferenceDataException extends PipelineException {
  private static final long serialVersionUID = 1L;

  private final String stage;
  private final String referenceData;
  private final String key;
  private final boolean keyNotFound;

  /**
   * Creates an exception.
   *
   * @param stage the stage that looked the key up
   * @param referenceData the reference data's name
   * @param key the key (or keys) looked up, as text already cut and escaped
   * @param keyNotFound whether the loader found no value, rather than failing
   * @param message what happened, naming all of the above
   * @param cause the loader's error, or null if the key was not found
   */
  public ReferenceDataException(
      String stage,
      String referenceData,
      String key,
      boolean keyNotFound,
      String message,
      @Nullable Throwable cause) {
    super(message);
    if (cause != null) {
      initCause(cause);
    }
    this.stage = stage;
    this.referenceData = referenceData;
    this.key = key;
    this.keyNotFound = keyNotFound;
  }

  /** The stage that looked the key up. */
  public String stage() {
    return stage;
  }

  /** The name of the reference data. */
  public String referenceData() {
    return referenceData;
  }

  /** The key (or keys) looked up, cut to a few hundred characters and escaped. */
  public String key() {
    return key;
  }

  /**
   * True if the loader found no value for the key (it returned null, or a bulk loader left the key
   * out); false if it failed or the wait was interrupted, see {@link #getCause()}.
   */
  public boolean keyNotFound() {
    return keyNotFound;
  }
}
