/**
 * The API a user touches first: {@link dev.pipeline.Pipeline} and its builder, {@link
 * dev.pipeline.Stage}, {@link dev.pipeline.Source}, {@link dev.pipeline.Sink} and the record {@link
 * dev.pipeline.Envelope}; {@link dev.pipeline.LoadBalancedStage} for a stage with several
 * implementations, picked per record by their live load.
 */
@NullMarked
package dev.pipeline;

import org.jspecify.annotations.NullMarked;
