package dev.pipeline.examples.listings;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Stage 8, publishing: an in-memory inverted index from terms and facets to listings.
 *
 * <p>Publishing is idempotent by listing id: the first listing published under an id stays, later
 * ones with the same id are ignored and reported as not new. That is how re-posted duplicates are
 * dropped, and why a retried publish after a failure is harmless.
 *
 * <p>Thread-safe: any number of threads may publish and search concurrently. A search running
 * during a publish may see the new listing under some of its terms and not yet under others; it
 * never sees a listing twice or a half-built one.
 */
public final class ListingIndex {

  private static final Pattern WHITESPACE = Pattern.compile("\\s+");

  private final ConcurrentHashMap<String, IndexedListing> byId = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Set<String>> postings = new ConcurrentHashMap<>();

  /**
   * Adds a listing unless one with the same id is already there.
   *
   * @return true if the listing was added, false if its id was already published
   * @throws NullPointerException if {@code listing} is null
   */
  public boolean publish(IndexedListing listing) {
    Objects.requireNonNull(listing, "indexed listing");
    if (byId.putIfAbsent(listing.id(), listing) != null) {
      return false;
    }
    for (String term : listing.terms()) {
      post(term, listing.id());
    }
    for (String term : listing.facets().asTerms()) {
      post(term, listing.id());
    }
    return true;
  }

  /**
   * Finds the listings matching every word of a query, sorted by id. Plain words are analysed like
   * listing text ("Excavators" finds "excavator"); {@code field:value} words match facets exactly,
   * e.g. {@code "excavator manufacturer:caterpillar price:25k-50k"}. A query without any searchable
   * word matches nothing.
   */
  public List<IndexedListing> search(String query) {
    Objects.requireNonNull(query, "query");
    List<String> terms = new ArrayList<>();
    for (String word : WHITESPACE.split(query.trim())) {
      int colon = word.indexOf(':');
      if (colon > 0 && colon < word.length() - 1) {
        terms.add(word.toLowerCase(Locale.ROOT));
      } else if (!word.isEmpty()) {
        terms.addAll(Indexer.analyze(word));
      }
    }
    if (terms.isEmpty()) {
      return List.of();
    }
    List<Set<String>> sets = new ArrayList<>(terms.size());
    for (String term : terms) {
      Set<String> ids = postings.get(term);
      if (ids == null) {
        return List.of();
      }
      sets.add(ids);
    }
    // Intersect starting from the rarest term, so the work is bounded by the smallest posting list.
    sets.sort(Comparator.comparingInt(Set::size));
    List<IndexedListing> hits = new ArrayList<>();
    for (String id : sets.get(0)) {
      if (containedInAll(sets, id)) {
        IndexedListing listing = byId.get(id);
        if (listing != null) {
          hits.add(listing);
        }
      }
    }
    hits.sort(Comparator.comparing(IndexedListing::id));
    return hits;
  }

  /** The listing published under an id, if any. */
  public Optional<IndexedListing> get(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  /** Number of distinct listings published. */
  public int size() {
    return byId.size();
  }

  /** Number of distinct terms and facet values indexed. */
  public int termCount() {
    return postings.size();
  }

  private void post(String term, String id) {
    postings.computeIfAbsent(term, t -> ConcurrentHashMap.newKeySet()).add(id);
  }

  private static boolean containedInAll(List<Set<String>> sets, String id) {
    for (int s = 1; s < sets.size(); s++) {
      if (!sets.get(s).contains(id)) {
        return false;
      }
    }
    return true;
  }
}
