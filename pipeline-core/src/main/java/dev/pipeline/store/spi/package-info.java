/**
 * The store SPI, for store implementers and not for pipeline code: {@link
 * dev.pipeline.store.spi.RecordLedger}, through which the engine drives a store, and the values it
 * passes; it may change between releases.
 */
@NullMarked
package dev.pipeline.store.spi;

import org.jspecify.annotations.NullMarked;
