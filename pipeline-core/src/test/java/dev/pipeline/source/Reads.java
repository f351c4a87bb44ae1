package dev.pipeline.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import dev.pipeline.Source;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** Reading sources whole, and the seek round trip every seekable source must pass. */
final class Reads {
  private Reads() {}

  static <T> List<Envelope<T>> all(Source<T> source) throws Exception {
    List<Envelope<T>> all = new ArrayList<>();
    try (source) {
      Envelope<T> next;
      while ((next = source.next()) != null) {
        all.add(next);
      }
    }
    return all;
  }

  static <T> List<T> payloads(List<Envelope<T>> records) {
    return records.stream().map(Envelope::payload).toList();
  }

  static <T> List<String> ids(List<Envelope<T>> records) {
    return records.stream().map(Envelope::id).toList();
  }

  /**
   * For every split point k: a source reads k records and gives its position, a new source seeks
   * there and reads the rest; both together equal one whole read (ids, payloads, metadata). Each
   * position is bounded and printable.
   *
   * @return the whole read
   */
  static <T> List<Envelope<T>> assertSeekRoundTrips(Callable<SeekableSource<T>> make)
      throws Exception {
    List<Envelope<T>> whole = all(make.call());
    for (int k = 0; k <= whole.size(); k++) {
      List<Envelope<T>> parts = new ArrayList<>();
      String position;
      try (SeekableSource<T> first = make.call()) {
        for (int i = 0; i < k; i++) {
          parts.add(first.next());
        }
        position = first.position();
      }
      assertThat(position)
          .as("position after %d records", k)
          .hasSizeLessThanOrEqualTo(SeekableSource.MAX_POSITION_CHARS)
          .matches("\\P{Cc}*");
      SeekableSource<T> second = make.call();
      second.seek(position);
      parts.addAll(all(second));
      assertThat(parts)
          .as("read %d records, then seek to %s and the rest", k, position)
          .isEqualTo(whole);
    }
    return whole;
  }
}
