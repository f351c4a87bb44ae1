/**
 * Quality reports: scores over time, drift per field, top failing rules with example records and
 * insights, as Markdown or one self-contained HTML file.
 */
@NullMarked
package dev.pipeline.quality.report;

import org.jspecify.annotations.NullMarked;
