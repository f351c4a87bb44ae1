package dev.pipeline.engine.run;

import java.time.Duration;

/**
 * What a pipeline records about itself besides its records: the audit trail and its buffer, the
 * metrics history and its window, and whether stages' CPU and allocations are sampled.
 */
public record Observability(
    boolean auditTrail,
    int auditBuffer,
    boolean metricsHistory,
    Duration metricsWindow,
    boolean resourceSampling) {}
