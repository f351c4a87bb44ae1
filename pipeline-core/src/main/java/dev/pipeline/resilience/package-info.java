/**
 * Retry policies, circuit breakers and token buckets that keep a pipeline healthy when its
 * surroundings are not.
 */
@NullMarked
package dev.pipeline.resilience;

import org.jspecify.annotations.NullMarked;
