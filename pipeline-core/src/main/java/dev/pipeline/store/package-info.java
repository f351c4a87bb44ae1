/** The store SPI that keeps records' state, and the in-memory store. */
@NullMarked
package dev.pipeline.store;

import org.jspecify.annotations.NullMarked;
