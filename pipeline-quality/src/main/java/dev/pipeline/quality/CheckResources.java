package dev.pipeline.quality;

import dev.pipeline.ReferenceData;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a gate gives its rules to check against: reference data by name (REFERENCE rules) and the
 * store's seen keys (UNIQUE rules with {@code scope=store}).
 */
record CheckResources(Map<String, ReferenceData<?, ?>> references, @Nullable SeenKeys seenKeys) {}
