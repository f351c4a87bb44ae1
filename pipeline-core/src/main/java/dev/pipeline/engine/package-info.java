/**
 * The engine's own parts, not API: the one call path every stage, batch stage, sink and the test
 * kit's {@code StageTester} run their calls through ({@link dev.pipeline.engine.Invoker}, one
 * {@code PolicyExecutor} per policy, {@link dev.pipeline.engine.Retries} and {@link
 * dev.pipeline.engine.Fallbacks} for what follows a failed call). Not exported but to the test kit.
 * A run's parts, which call through it, are in {@code dev.pipeline.engine.run}, exported to no
 * module.
 */
@NullMarked
package dev.pipeline.engine;

import org.jspecify.annotations.NullMarked;
