/**
 * Where a pipeline keeps its records' state, as users read and act on it (record states, counts,
 * dead letters, payload codecs), and the in-memory store.
 */
@NullMarked
package dev.pipeline.store;

import org.jspecify.annotations.NullMarked;
