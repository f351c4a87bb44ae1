package dev.pipeline.resilience;

/** The bucket that never runs dry. */
enum UnlimitedTokenBucket implements TokenBucket {
  INSTANCE;

  @Override
  public void acquire(int permits) {
    checkPermits(permits);
  }

  @Override
  public boolean tryAcquire(int permits) {
    checkPermits(permits);
    return true;
  }

  private static void checkPermits(int permits) {
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be positive, was " + permits);
    }
  }

  @Override
  public double ratePerSecond() {
    return Double.POSITIVE_INFINITY;
  }

  @Override
  public String toString() {
    return "TokenBucket.unlimited()";
  }
}
