/** An embedded, safe-by-default operations dashboard for running pipelines. */
@NullMarked
package dev.pipeline.dashboard;

import org.jspecify.annotations.NullMarked;
