package dev.pipeline.examples.app;

import dev.pipeline.Envelope;
import dev.pipeline.Sink;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.JsonLinesWriter;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes published listings to a file, one JSON object per line. Each line carries the listing id,
 * so a consumer that loads the file by id sees a re-delivered listing as the same item.
 *
 * <p>Thread-safe: batches are written whole under a lock.
 */
public final class JsonLinesSink implements Sink<IndexedListing>, AutoCloseable {
  private final ReentrantLock lock = new ReentrantLock();
  private final BufferedWriter out;

  /**
   * Opens (and truncates) the file.
   *
   * @throws IOException if it cannot be opened
   */
  public JsonLinesSink(Path file) throws IOException {
    this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
  }

  @Override
  public void publish(List<Envelope<IndexedListing>> records) throws IOException {
    StringBuilder batch = new StringBuilder(records.size() * 512);
    for (Envelope<IndexedListing> record : records) {
      batch.append(JsonLinesWriter.render(record.payload())).append('\n');
    }
    lock.lock();
    try {
      out.write(batch.toString());
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() throws IOException {
    lock.lock();
    try {
      out.close();
    } finally {
      lock.unlock();
    }
  }
}
