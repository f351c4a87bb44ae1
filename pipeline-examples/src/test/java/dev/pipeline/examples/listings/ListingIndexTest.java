package dev.pipeline.examples.listings;

import static dev.pipeline.examples.listings.ListingFixture.listing;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ListingIndexTest {

  private static final IndexedListing CAT_EXCAVATOR = listing().id("a-1").indexed();
  private static final IndexedListing VOLVO_LOADER =
      listing()
          .id("a-2")
          .title("Volvo L60H Wheel Loader")
          .description("Good condition, new tyres. Year 2019.")
          .indexed();
  private static final IndexedListing KOMATSU_EXCAVATOR =
      listing()
          .id("a-3")
          .title("Komatsu PC210LC-8 Excavator")
          .price("$61,000")
          .description("Runs well. Year 2012.")
          .indexed();

  private static List<String> ids(List<IndexedListing> listings) {
    return listings.stream().map(IndexedListing::id).toList();
  }

  @Test
  void publishingTheSameIdTwiceKeepsTheFirstListing() {
    ListingIndex index = new ListingIndex();
    IndexedListing repost = listing().id("a-1").title("Caterpillar 330F Excavator").indexed();

    assertThat(index.publish(CAT_EXCAVATOR)).isTrue();
    assertThat(index.publish(CAT_EXCAVATOR)).isFalse();
    assertThat(index.publish(repost)).isFalse();
    assertThat(index.size()).isEqualTo(1);
    assertThat(index.get("a-1")).contains(CAT_EXCAVATOR);
    assertThat(index.search("330f")).isEmpty();
  }

  @Test
  void findsListingsContainingEveryWordOfTheQuery() {
    ListingIndex index = indexOfThree();

    assertThat(ids(index.search("excavator"))).containsExactly("a-1", "a-3");
    assertThat(ids(index.search("excavator komatsu"))).containsExactly("a-3");
    assertThat(ids(index.search("excavator tyres"))).isEmpty();
  }

  @Test
  void analysesQueryWordsLikeListingText() {
    assertThat(ids(indexOfThree().search("  Excavators  in EXCELLENT condition ")))
        .containsExactly("a-1");
  }

  @Test
  void matchesFacetTermsExactly() {
    ListingIndex index = indexOfThree();

    assertThat(ids(index.search("manufacturer:komatsu"))).containsExactly("a-3");
    assertThat(ids(index.search("currency:usd price:50k-100k"))).containsExactly("a-3");
    assertThat(ids(index.search("category:wheel-loader decade:2010s"))).containsExactly("a-2");
  }

  @Test
  void matchesNothingForUnknownWordsOrEmptyQueries() {
    ListingIndex index = indexOfThree();

    assertThat(index.search("bulldozer")).isEmpty();
    assertThat(index.search("   ")).isEmpty();
    assertThat(index.search("the and of")).isEmpty();
  }

  @Test
  void countsEachIdOnceWhenManyThreadsPublishTheSameListings() throws Exception {
    ListingIndex index = new ListingIndex();
    List<IndexedListing> listings = List.of(CAT_EXCAVATOR, VOLVO_LOADER, KOMATSU_EXCAVATOR);
    AtomicInteger added = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        futures.add(
            pool.submit(
                () -> {
                  for (int round = 0; round < 200; round++) {
                    for (IndexedListing listing : listings) {
                      if (index.publish(listing)) {
                        added.incrementAndGet();
                      }
                    }
                  }
                }));
      }
      for (Future<?> future : futures) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(added).hasValue(3);
    assertThat(index.size()).isEqualTo(3);
    assertThat(ids(index.search("excavator"))).containsExactly("a-1", "a-3");
  }

  private static ListingIndex indexOfThree() {
    ListingIndex index = new ListingIndex();
    index.publish(KOMATSU_EXCAVATOR);
    index.publish(CAT_EXCAVATOR);
    index.publish(VOLVO_LOADER);
    return index;
  }
}
