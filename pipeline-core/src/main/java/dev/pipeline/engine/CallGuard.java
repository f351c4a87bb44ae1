package dev.pipeline.engine;

/**
 * Watches one call for its timeout. The engine's guard is a worker's slot, which a watchdog thread
 * interrupts when the call runs late; the test kit's compares the call's time on its clock.
 */
public interface CallGuard {
  /** A guard for calls that are not timed (or are timed by whoever calls the invoker). */
  CallGuard UNTIMED =
      new CallGuard() {
        @Override
        public long begin(long now) {
          return 0;
        }

        @Override
        public boolean end(long call) {
          return true;
        }
      };

  /** Marks the start of a call at {@code now} (nanoseconds); returns a token for {@link #end}. */
  long begin(long now);

  /**
   * Marks the end of the call {@code begin} returned {@code call} for.
   *
   * @return true if it ended in time, false if it ran past its timeout
   */
  boolean end(long call);
}
