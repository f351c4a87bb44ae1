package dev.pipeline.jdbc;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** How long finished work is kept. */
record Retention(
    Duration payloads,
    @Nullable Duration completed,
    @Nullable Duration logs,
    @Nullable Duration seenKeys,
    int batchSize) {}
