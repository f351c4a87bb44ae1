/**
 * The engine's own parts, not API: the one call path every stage, batch stage, sink and the test
 * kit's {@code StageTester} run their calls through. Not exported but to the test kit.
 */
@NullMarked
package dev.pipeline.engine;

import org.jspecify.annotations.NullMarked;
