/**
 * The test kit: {@link dev.pipeline.testkit.StageTester} runs one stage on the calling thread,
 * {@link dev.pipeline.testkit.PipelineTester} runs a whole pipeline in memory, both on a {@link
 * dev.pipeline.testkit.ManualClock} and capturing what stages log.
 */
@NullMarked
package dev.pipeline.testkit;

import org.jspecify.annotations.NullMarked;
