package dev.pipeline.source;

import java.io.IOException;

/**
 * A header row that cannot be read: the input cannot be read at all. An IO error of its kind, so
 * that a directory source reports the file and goes on with the next one.
 */
final class BadHeaderException extends IOException {
  BadHeaderException(String message) {
    super(message);
  }
}
