package dev.pipeline;

import java.util.List;

/**
 * Part of a batch a batch stage calls at once, and the attempt it is at.
 *
 * @param records the records, in order
 * @param attempt the attempt at them, from 1
 */
record Chunk(List<Envelope<Object>> records, int attempt) {}
