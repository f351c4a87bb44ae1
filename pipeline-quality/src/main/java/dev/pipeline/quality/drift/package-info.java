/**
 * Per-field profiles of a stage's output per window, drift against a baseline (PSI and a test fit
 * for small samples) and anomalies on metric series, reported through {@link
 * dev.pipeline.AlertListener}.
 */
@NullMarked
package dev.pipeline.quality.drift;

import org.jspecify.annotations.NullMarked;
