/**
 * End-to-end runs that check the engine's performance targets against a baseline measured in the
 * same run: {@link dev.pipeline.bench.Targets} is the entry point. Besides plain loops and raw
 * JDBC, the durable targets run a peer as their baseline: Spring Batch 6 doing the same work as a
 * chunk-oriented step with its JDBC job repository on the same database ({@link
 * dev.pipeline.bench.SpringBatchWork}, and for the IO-bound target {@link
 * dev.pipeline.bench.SpringBatchIoWork}); Spring Batch is a dependency of this module only.
 */
@NullMarked
package dev.pipeline.bench;

import org.jspecify.annotations.NullMarked;
