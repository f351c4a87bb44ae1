/**
 * Micrometer meters and observations for pipelines: {@link
 * dev.pipeline.micrometer.StageCallObserver} times every stage call and opens an observation around
 * it, {@link dev.pipeline.micrometer.PipelineMeterBinder} exposes a pipeline's live state as
 * gauges.
 */
@NullMarked
package dev.pipeline.micrometer;

import org.jspecify.annotations.NullMarked;
