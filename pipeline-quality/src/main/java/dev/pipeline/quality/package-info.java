/**
 * Data quality for pipelines: rules checked while records flow, gates between stages, quality
 * scores, drift profiles and quality reports.
 */
@NullMarked
package dev.pipeline.quality;

import org.jspecify.annotations.NullMarked;
