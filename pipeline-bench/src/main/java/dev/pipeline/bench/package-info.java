/**
 * End-to-end runs that check the engine's performance targets against a baseline measured in the
 * same run: {@link dev.pipeline.bench.Targets} is the entry point.
 */
@NullMarked
package dev.pipeline.bench;

import org.jspecify.annotations.NullMarked;
