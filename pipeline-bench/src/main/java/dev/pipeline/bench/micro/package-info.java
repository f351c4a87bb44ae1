/**
 * JMH micro-benchmarks of the engine's hot paths, each beside the plain call it costs on top of.
 */
@NullMarked
package dev.pipeline.bench.micro;

import org.jspecify.annotations.NullMarked;
