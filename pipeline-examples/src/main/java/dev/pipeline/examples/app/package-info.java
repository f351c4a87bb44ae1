/** The runnable equipment-listings application: sources, the eight-stage pipeline, a file sink. */
@NullMarked
package dev.pipeline.examples.app;

import org.jspecify.annotations.NullMarked;
