/**
 * Ready-made sources over text files, streams and directories: lines, CSV, JSON lines and
 * paragraphs, each resumable from a position ({@link dev.pipeline.source.FileSources}).
 */
@NullMarked
package dev.pipeline.source;

import org.jspecify.annotations.NullMarked;
