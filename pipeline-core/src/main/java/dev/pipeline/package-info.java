/**
 * The API a user touches first: {@link dev.pipeline.Pipeline} and its builder, {@link
 * dev.pipeline.Stage}, {@link dev.pipeline.Source}, {@link dev.pipeline.Sink} and the record {@link
 * dev.pipeline.Envelope}.
 */
@NullMarked
package dev.pipeline;

import org.jspecify.annotations.NullMarked;
