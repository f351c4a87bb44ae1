/**
 * Snapshots of a pipeline's metrics: per-stage counts, errors, latency percentiles and throughput.
 */
@NullMarked
package dev.pipeline.metrics;

import org.jspecify.annotations.NullMarked;
