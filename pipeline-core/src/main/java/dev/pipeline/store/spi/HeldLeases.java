package dev.pipeline.store.spi;

import java.time.Duration;
import java.util.Objects;

/**
 * Unfinished records another worker holds, as {@link RecordLedger#leasesHeldElsewhere} reports
 * them.
 *
 * @param worker the worker's id (the lease owner)
 * @param records how many records it holds
 * @param expiresWithin when the last of its leases expires if it does not renew them (by the
 *     store's clock); zero if they have expired already
 */
public record HeldLeases(String worker, long records, Duration expiresWithin) {

  /** Checks the components. */
  public HeldLeases {
    Objects.requireNonNull(worker, "worker cannot be null");
    Objects.requireNonNull(expiresWithin, "expiresWithin cannot be null");
    if (expiresWithin.isNegative()) {
      expiresWithin = Duration.ZERO;
    }
  }
}
