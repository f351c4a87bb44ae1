package dev.pipeline;

/**
 * A payload that knows its size, for the bytes/s metrics. Implement it on payload types that are
 * neither text nor bytes; a cheap estimate is enough.
 */
public interface Sized {

  /** About how many bytes this payload would take serialized. */
  long sizeInBytes();
}
