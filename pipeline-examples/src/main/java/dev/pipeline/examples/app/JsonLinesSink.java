package dev.pipeline.examples.app;

import dev.pipeline.Envelope;
import dev.pipeline.Sink;
import dev.pipeline.Source;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.JsonLinesWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * Writes published listings to a file, one JSON object per line, as durably as the pipeline's store
 * keeps their state: each batch is on disk ({@link FileChannel#force}) before {@link #publish}
 * returns, so a listing the store marks delivered is in the file, and a listing is written once,
 * keyed by its id, however often it is delivered.
 *
 * <p>A rerun appends to the file: the ids already in it are read when it opens, and a listing
 * delivered again (after a crash between the write and the store's note of it) is skipped. A line a
 * crash cut short at the end of the file is removed: its listing was not confirmed delivered, so it
 * comes again. Only a fresh start truncates the file.
 *
 * <p>Fencing: a listing handed over with a fencing token ({@link Envelope#fencingToken()}) is
 * written with it, as the line's last field {@code "fencingToken"}, and the highest token written
 * per id is kept (read back from the file when it opens). A write whose token is not higher than
 * that is refused: it comes from a worker that lost the listing to another. One with a higher token
 * is appended as the newer version of the listing, unless the listing is the same as the one
 * written. A paused worker in another process does not see the lines written after it opened the
 * file and may still append a copy with a lower token: readers take, for each id, the line with the
 * highest {@code "fencingToken"}, which that copy never is.
 *
 * <p>Thread-safe: batches are written whole under a lock.
 */
public final class JsonLinesSink implements Sink<IndexedListing>, AutoCloseable {
  /** The longest line read back when the file opens; a longer one is no line of this sink. */
  private static final int MAX_LINE_BYTES = 1 << 20;

  private static final String ID_PREFIX = "{\"id\":";
  private static final String TOKEN_FIELD = ",\"fencingToken\":";

  private final ReentrantLock lock = new ReentrantLock();
  private final Path file;
  private final FileChannel out; // guarded by lock
  // per id (as a JSON literal): the highest token written (0 without one) and the hash of the
  // listing's line without it; guarded by lock
  private final Map<String, Written> written = new HashMap<>();
  private long refusedStale; // guarded by lock

  private record Written(long token, int listing) {}

  /**
   * Opens the file: truncated if {@code fresh}, else appended to, with the listings already in it
   * kept and not written again.
   *
   * @throws IOException if it cannot be opened or read
   */
  public JsonLinesSink(Path file, boolean fresh) throws IOException {
    this.file = file;
    boolean existed = Files.exists(file);
    if (fresh || !existed) {
      this.out =
          FileChannel.open(
              file,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING);
      out.force(true);
      forceDirectory(file);
      return;
    }
    this.out = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      long complete = completeLength(out);
      if (complete < out.size()) {
        out.truncate(complete); // a line cut short by a crash: its listing comes again
        out.force(true);
      }
      readIds();
      out.position(out.size());
    } catch (IOException | RuntimeException e) {
      out.close();
      throw e;
    }
  }

  /** How many listings are in the file. */
  public int size() {
    lock.lock();
    try {
      return written.size();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void publish(List<Envelope<IndexedListing>> records) throws IOException {
    lock.lock();
    try {
      StringBuilder batch = new StringBuilder(records.size() * 512);
      Map<String, Written> ids = new HashMap<>();
      long refused = 0;
      for (Envelope<IndexedListing> record : records) {
        String id = JsonLinesWriter.string(record.payload().id());
        String line = JsonLinesWriter.render(record.payload());
        long token = record.fencingToken().orElse(0);
        Written before = ids.containsKey(id) ? ids.get(id) : written.get(id);
        if (before != null && token <= before.token()) {
          if (token < before.token()) {
            refused++; // a stale worker's copy: the listing's new holder wrote it already
          }
          continue; // else delivered again: it is in the file already
        }
        Written now = new Written(token, line.hashCode());
        ids.put(id, now);
        if (before != null && before.listing() == now.listing()) {
          continue; // a new holder, the same listing: the line written stands
        }
        if (token > 0) {
          line = line.substring(0, line.length() - 1) + TOKEN_FIELD + token + "}";
        }
        batch.append(line).append('\n');
      }
      refusedStale += refused;
      if (ids.isEmpty()) {
        return;
      }
      long start = out.position();
      try {
        ByteBuffer bytes = ByteBuffer.wrap(batch.toString().getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
          out.write(bytes);
        }
        out.force(false);
      } catch (IOException e) {
        // the batch is not delivered: leave no part of it behind for its redelivery to follow
        try {
          out.truncate(start);
          out.position(start);
        } catch (IOException undo) {
          e.addSuppressed(undo);
        }
        throw e;
      }
      written.putAll(ids);
    } finally {
      lock.unlock();
    }
  }

  /** How many listings were refused because a newer holder had written them already. */
  public long refusedStale() {
    lock.lock();
    try {
      return refusedStale;
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

  /** The length of the file up to and including its last line feed. */
  private static long completeLength(FileChannel channel) throws IOException {
    long end = channel.size();
    ByteBuffer chunk = ByteBuffer.allocate(8192);
    while (end > 0) {
      int n = (int) Math.min(chunk.capacity(), end);
      chunk.clear().limit(n);
      long from = end - n;
      while (chunk.hasRemaining()) {
        if (channel.read(chunk, from + chunk.position()) < 0) {
          break;
        }
      }
      for (int i = n - 1; i >= 0; i--) {
        if (chunk.get(i) == '\n') {
          return from + i + 1;
        }
      }
      end = from;
    }
    return 0;
  }

  /** Reads the ids of the listings in the file, each line read bounded. */
  private void readIds() throws IOException {
    try (Source<String> lines = Source.lines("out", file, MAX_LINE_BYTES)) {
      Envelope<String> line;
      while ((line = lines.next()) != null) {
        String text = line.payload();
        String id = idLiteral(text);
        if (id != null && !line.metadata().containsKey(Envelope.SOURCE_ERROR)) {
          long token = 0;
          int at = text.lastIndexOf(TOKEN_FIELD);
          if (at > 0 && text.endsWith("}")) {
            try {
              token = Long.parseLong(text.substring(at + TOKEN_FIELD.length(), text.length() - 1));
              text = text.substring(0, at) + "}";
            } catch (NumberFormatException e) {
              token = 0; // a listing's own text, not the token field
            }
          }
          Written now = new Written(token, text.hashCode());
          written.merge(id, now, (a, b) -> a.token() >= b.token() ? a : b);
        }
      }
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("could not read the listings already in " + file, e);
    }
  }

  /** The id of a line of this sink, as the JSON string literal it is written as; else null. */
  private static @Nullable String idLiteral(String line) {
    if (!line.startsWith(ID_PREFIX) || line.length() <= ID_PREFIX.length()) {
      return null;
    }
    int start = ID_PREFIX.length();
    if (line.charAt(start) != '"') {
      return null;
    }
    for (int i = start + 1; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        return line.substring(start, i + 1);
      }
    }
    return null;
  }

  /** Makes a new file's directory entry durable too; not every file system can. */
  private static void forceDirectory(Path file) {
    Path dir = file.toAbsolutePath().getParent();
    if (dir == null) {
      return;
    }
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // the file's contents are forced on every batch; only its name may need a later sync
    }
  }
}
