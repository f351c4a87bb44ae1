package dev.pipeline.examples.listings;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A dictionary of one- or multi-word phrases matched against {@link Words.Tokens}, longest phrase
 * first and case-insensitively. Built once through {@link #builder()} and immutable afterwards,
 * hence thread-safe.
 *
 * <p>Phrases are keyed by their lower-cased tokens joined with single spaces, tokenised exactly
 * like the text they are matched against, so "mini-pelle", "Mini Pelle" and "mini pelle" are the
 * same entry. A phrase never matches across punctuation.
 *
 * @param <V> what a phrase maps to
 */
final class PhraseTable<V> {

  /** A phrase found in a text: it covers {@code length} tokens and maps to {@code value}. */
  record Match<V>(int length, V value) {}

  private final Map<String, V> phrases;
  // Every proper prefix of a multi-word phrase; lets the matcher stop extending a key as soon as it
  // cannot grow
  // into an entry, so most tokens cost a single hash look-up.
  private final Set<String> prefixes;
  private final int maxWords;

  private PhraseTable(Map<String, V> phrases, Set<String> prefixes, int maxWords) {
    this.phrases = Map.copyOf(phrases);
    this.prefixes = Set.copyOf(prefixes);
    this.maxWords = maxWords;
  }

  static <V> Builder<V> builder() {
    return new Builder<>();
  }

  /** The longest phrase starting at token {@code i}, or {@code null} when none does. */
  Match<V> longestAt(Words.Tokens tokens, int i) {
    String key = tokens.lower[i];
    V value = phrases.get(key);
    Match<V> best = value == null ? null : new Match<>(1, value);
    int length = 1;
    while (length < maxWords
        && i + length < tokens.count
        && tokens.joinedToPrevious(i + length)
        && prefixes.contains(key)) {
      key = key + ' ' + tokens.lower[i + length];
      length++;
      value = phrases.get(key);
      if (value != null) {
        best = new Match<>(length, value);
      }
    }
    return best;
  }

  /** The value of a single lower-case word, or {@code null}. */
  V get(String lowerCaseWord) {
    return phrases.get(lowerCaseWord);
  }

  int size() {
    return phrases.size();
  }

  /**
   * Collects phrases; rejects duplicates so that a dictionary typo fails at class initialisation,
   * not silently.
   */
  static final class Builder<V> {
    private final Map<String, V> phrases = new HashMap<>();
    private final Set<String> prefixes = new HashSet<>();
    private int maxWords = 1;

    private Builder() {}

    Builder<V> add(String phrase, V value) {
      Words.Tokens tokens = Words.tokenize(phrase);
      if (tokens.count == 0) {
        throw new IllegalArgumentException("phrase without words: \"" + phrase + "\"");
      }
      StringBuilder key = new StringBuilder(phrase.length());
      for (int i = 0; i < tokens.count; i++) {
        if (i > 0) {
          if (!tokens.joinedToPrevious(i)) {
            throw new IllegalArgumentException(
                "phrase contains punctuation and could never match: \"" + phrase + "\"");
          }
          prefixes.add(key.toString());
          key.append(' ');
        }
        key.append(tokens.lower[i]);
      }
      if (phrases.putIfAbsent(key.toString(), value) != null) {
        throw new IllegalArgumentException("duplicate phrase: \"" + phrase + "\"");
      }
      maxWords = Math.max(maxWords, tokens.count);
      return this;
    }

    Builder<V> addAll(V value, String... phrases) {
      for (String phrase : phrases) {
        add(phrase, value);
      }
      return this;
    }

    PhraseTable<V> build() {
      return new PhraseTable<>(phrases, prefixes, maxWords);
    }
  }
}
