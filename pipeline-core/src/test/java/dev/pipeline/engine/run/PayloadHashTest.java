package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PayloadHashTest {
  enum Kind {
    A,
    B
  }

  record Price(long cents, String currency) {}

  record Listing(
      String title, double score, Instant seen, Kind kind, Price price, List<String> tags) {}

  record Other(String title) {}

  record Throwing(String title) {
    @Override
    public String title() {
      throw new IllegalStateException("cannot read");
    }
  }

  private static Listing listing(String title, double score) {
    return new Listing(
        title,
        score,
        Instant.ofEpochSecond(1_700_000_000L, 5),
        Kind.A,
        new Price(1299, "EUR"),
        List.of("x", "y"));
  }

  @Test
  void textIsHashedByItsCharactersWhateverItsType() {
    assertThat(PayloadHash.of("abc")).isEqualTo(PayloadHash.text("abc"));
    assertThat(PayloadHash.of(new StringBuilder("abc"))).isEqualTo(PayloadHash.text("abc"));
    assertThat(PayloadHash.of(null)).isEqualTo(PayloadHash.text("null"));
  }

  @Test
  void optionalsCountByWhatTheyHold() {
    assertThat(PayloadHash.of(java.util.OptionalInt.of(3)))
        .isEqualTo(PayloadHash.of(java.util.OptionalInt.of(3)))
        .isNotEqualTo(PayloadHash.of(java.util.OptionalInt.of(4)))
        .isNotEqualTo(PayloadHash.of(java.util.OptionalInt.empty()));
    assertThat(PayloadHash.of(java.util.Optional.of("x")))
        .isNotEqualTo(PayloadHash.of(java.util.Optional.of("y")))
        .isNotEqualTo(PayloadHash.of(java.util.Optional.empty()));
  }

  record Numbers(long l, int i, short s, byte b, double d, float f, boolean z, char c) {}

  @Test
  void aRecordsPrimitiveComponentsCountAsTheirBoxedValuesWould() {
    assertThat(
            PayloadHash.of(new Numbers(-5L, -7, (short) -3, (byte) -1, -0.5, 1.5f, true, '\u00E9')))
        .isEqualTo(numbersHash(Numbers.class));
    assertThat(PayloadHash.of(new Numbers(-5L, -7, (short) -3, (byte) -1, -0.5, 1.5f, false, 'x')))
        .isNotEqualTo(numbersHash(Numbers.class));
  }

  /**
   * The hash of a record of {@code (-5L, -7, (short) -3, (byte) -1, -0.5, 1.5f, true, '\u00E9')}:
   * the record's mark and name, then each component's type mark and value, as a walk of the boxed
   * values (a Long, an Integer, ...) mixes them in.
   */
  private static long numbersHash(Class<? extends Record> type) {
    long h = mix(mix(0xcbf29ce484222325L, 'R'), PayloadHash.text(type.getName()));
    h = mix(mix(h, 'J'), -5L);
    h = mix(mix(h, 'I'), -7);
    h = mix(mix(h, 'S'), (short) -3);
    h = mix(mix(h, 'B'), (byte) -1);
    h = mix(mix(h, 'D'), Double.doubleToLongBits(-0.5));
    h = mix(mix(h, 'F'), Float.floatToIntBits(1.5f));
    h = mix(mix(h, 'Z'), 1);
    return mix(mix(h, 'C'), '\u00E9');
  }

  record Holder(Object held) {}

  record ThrowingTags(List<String> tags) {
    @Override
    public List<String> tags() {
      throw new IllegalStateException("cannot read");
    }
  }

  /** Counts the reads of its components. */
  record Counted(String title, long cents, Kind kind, Instant seen, List<String> tags) {
    static final java.util.concurrent.atomic.AtomicInteger READS =
        new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public String title() {
      READS.incrementAndGet();
      return title;
    }

    @Override
    public Kind kind() {
      READS.incrementAndGet();
      return kind;
    }

    @Override
    public Instant seen() {
      READS.incrementAndGet();
      return seen;
    }

    @Override
    public List<String> tags() {
      READS.incrementAndGet();
      return tags;
    }
  }

  @Test
  void aComponentWhoseDeclaredTypeCannotChangeIsNotReadToTellTheRecordUnchanging() {
    Counted counted = new Counted("drill", 5, Kind.A, Instant.EPOCH, List.of("a", "b"));
    Counted.READS.set(0);
    assertThat(PayloadHash.unchanging(counted)).isTrue();
    assertThat(Counted.READS).as("only the list is looked at").hasValue(1);
    assertThat(PayloadHash.unchanging(new Counted("drill", 5, Kind.A, null, List.of()))).isTrue();
    assertThat(
            PayloadHash.unchanging(
                new Counted("drill", 5, Kind.B, Instant.EPOCH, new ArrayList<>(List.of("a")))))
        .as("a list that can change is still looked at")
        .isFalse();
    assertThat(PayloadHash.unchanging(new Throwing("x")))
        .as("a text component is not read: the record's field holding it is final")
        .isTrue();
  }

  @Test
  void onlyAValueWhoseContentCannotChangeCountsAsUnchanging() {
    assertThat(PayloadHash.unchanging(listing("drill", 0.5)))
        .as("text, numbers, an instant, an enum, a record and List.of")
        .isTrue();
    assertThat(PayloadHash.unchanging(new Holder(java.util.Optional.of(Map.of("k", List.of(1L))))))
        .isTrue();
    assertThat(PayloadHash.unchanging(new Holder(Set.of("a", "b")))).isTrue();
    assertThat(PayloadHash.unchanging(new Holder(List.of(1, 2, 3).subList(0, 2)))).isTrue();
    assertThat(PayloadHash.unchanging(new Holder(null))).isTrue();

    assertThat(PayloadHash.unchanging(new Holder(new ArrayList<>(List.of("a"))))).isFalse();
    assertThat(
            PayloadHash.unchanging(
                new Holder(java.util.Collections.unmodifiableList(new ArrayList<>(List.of("a"))))))
        .as("a view of a list that can change")
        .isFalse();
    assertThat(PayloadHash.unchanging(new Holder(List.of(new StringBuilder("a"))))).isFalse();
    assertThat(PayloadHash.unchanging(new Holder(new HashMap<>(Map.of("k", "v"))))).isFalse();
    assertThat(PayloadHash.unchanging(new Holder(Map.of("k", new ArrayList<String>())))).isFalse();
    assertThat(PayloadHash.unchanging(new Holder(new String[] {"a"}))).as("an array").isFalse();
    assertThat(PayloadHash.unchanging(new Holder(new java.util.concurrent.atomic.AtomicLong())))
        .isFalse();
    assertThat(PayloadHash.unchanging(new StringBuilder("a"))).isFalse();
    assertThat(PayloadHash.unchanging(new Holder(new ThrowingTags(List.of("x")))))
        .as("a component that must be looked at and throws when read")
        .isFalse();
    List<Object> self = new ArrayList<>();
    self.add(self);
    assertThat(PayloadHash.unchanging(new Holder(self))).isFalse();
    Object deep = List.of("x");
    for (int i = 0; i < PayloadHash.MAX_DEPTH; i++) {
      deep = new Holder(deep);
    }
    assertThat(PayloadHash.unchanging(deep)).as("past the walk's depth").isFalse();
  }

  /** A 64-bit value's eight bytes, low first, into FNV-1a. */
  private static long mix(long h, long value) {
    for (int shift = 0; shift < 64; shift += 8) {
      h = (h ^ ((value >>> shift) & 0xff)) * 0x100000001b3L;
    }
    return h;
  }

  @Test
  void equalContentHashesAlikeAndAnyChangedComponentChangesTheHash() {
    assertThat(PayloadHash.of(listing("drill", 0.5)))
        .isEqualTo(PayloadHash.of(listing("drill", 0.5)));
    long base = PayloadHash.of(listing("drill", 0.5));
    assertThat(PayloadHash.of(listing("drill", 0.25))).isNotEqualTo(base);
    assertThat(PayloadHash.of(listing("Drill", 0.5))).isNotEqualTo(base);
    Listing l = listing("drill", 0.5);
    assertThat(
            PayloadHash.of(
                new Listing(l.title(), l.score(), l.seen(), Kind.B, l.price(), l.tags())))
        .isNotEqualTo(base);
    assertThat(
            PayloadHash.of(
                new Listing(
                    l.title(), l.score(), l.seen().plusNanos(1), l.kind(), l.price(), l.tags())))
        .isNotEqualTo(base);
    assertThat(
            PayloadHash.of(
                new Listing(
                    l.title(), l.score(), l.seen(), l.kind(), new Price(1300, "EUR"), l.tags())))
        .isNotEqualTo(base);
    assertThat(
            PayloadHash.of(
                new Listing(
                    l.title(), l.score(), l.seen(), l.kind(), l.price(), List.of("y", "x"))))
        .as("a list's order counts")
        .isNotEqualTo(base);
    assertThat(PayloadHash.of(new Other("drill")))
        .as("two record types with the same components")
        .isNotEqualTo(PayloadHash.of(new Price(0, "drill")))
        .isNotEqualTo(PayloadHash.of("drill"));
    assertThat(PayloadHash.of(1L))
        .isNotEqualTo(PayloadHash.of(1))
        .isNotEqualTo(PayloadHash.of(1.0));
    assertThat(PayloadHash.of(new byte[] {1, 2}))
        .isEqualTo(PayloadHash.of(new byte[] {1, 2}))
        .isNotEqualTo(PayloadHash.of(new byte[] {2, 1}));
  }

  record Pair(String first, String second) {}

  @Test
  void textsSideBySideDoNotHashAsTheirConcatenation() {
    assertThat(PayloadHash.of(new Pair("ab", "c")))
        .as("characters moved from one component to the next")
        .isNotEqualTo(PayloadHash.of(new Pair("a", "bc")))
        .isNotEqualTo(PayloadHash.of(new Pair("abc", "")));
    assertThat(PayloadHash.of(List.of("ab", "c"))).isNotEqualTo(PayloadHash.of(List.of("a", "bc")));
    assertThat(PayloadHash.of(Set.of("ab", "c"))).isNotEqualTo(PayloadHash.of(Set.of("a", "bc")));
    assertThat(PayloadHash.of(Map.of("ab", "c"))).isNotEqualTo(PayloadHash.of(Map.of("a", "bc")));
    assertThat(PayloadHash.of(new Pair("null", "x")))
        .as("the text 'null' is not a null component")
        .isNotEqualTo(PayloadHash.of(new Pair(null, "x")));
    assertThat(PayloadHash.of(new Pair("ab", "c"))).isEqualTo(PayloadHash.of(new Pair("ab", "c")));
  }

  record Wrapped(Listing listing, String note, java.util.Optional<Price> other) {}

  @Test
  void aRecordInsideCountsByItsOwnHashSoAKnownOneIsNotWalkedAgain() {
    Listing inner = listing("drill", 0.5);
    Wrapped outer = new Wrapped(inner, "n", java.util.Optional.of(new Price(5, "EUR")));
    long h = mix(mix(0xcbf29ce484222325L, 'R'), PayloadHash.text(Wrapped.class.getName()));
    h = mix(mix(h, '@'), PayloadHash.of(inner));
    h = PayloadHash.chars((h ^ 1) * 0x100000001b3L, "n"); // inside: length, then characters
    h = mix(mix(mix(h, 'o'), '@'), PayloadHash.of(new Price(5, "EUR")));
    assertThat(PayloadHash.of(outer)).isEqualTo(h);

    assertThat(PayloadHash.of(outer, inner, PayloadHash.of(inner)))
        .as("the wrapped input's known hash gives the hash the walk gives")
        .isEqualTo(PayloadHash.of(outer));
    assertThat(PayloadHash.of(outer, inner, 42L))
        .as("the known hash is taken, not the walk's")
        .isNotEqualTo(PayloadHash.of(outer));
    assertThat(PayloadHash.of(outer, listing("drill", 0.5), 42L))
        .as("only the very object counts by the known hash, not an equal one")
        .isEqualTo(PayloadHash.of(outer));
    assertThat(PayloadHash.of(inner, inner, 42L)).isEqualTo(42L);
    assertThat(PayloadHash.of(new Wrapped(listing("drill", 0.25), "n", java.util.Optional.empty())))
        .isNotEqualTo(PayloadHash.of(new Wrapped(inner, "n", java.util.Optional.empty())));
  }

  @Test
  void setsAndMapsHashAlikeWhateverTheirOrder() {
    Set<String> one = new LinkedHashSet<>(List.of("a", "b", "c"));
    Set<String> other = new LinkedHashSet<>(List.of("c", "a", "b"));
    assertThat(PayloadHash.of(one)).isEqualTo(PayloadHash.of(other));
    assertThat(PayloadHash.of(new HashSet<>(one))).isEqualTo(PayloadHash.of(one));
    Map<String, Integer> m1 = new LinkedHashMap<>();
    m1.put("a", 1);
    m1.put("b", 2);
    Map<String, Integer> m2 = new LinkedHashMap<>();
    m2.put("b", 2);
    m2.put("a", 1);
    assertThat(PayloadHash.of(m1)).isEqualTo(PayloadHash.of(m2));
    Map<String, Integer> swapped = new HashMap<>(Map.of("a", 2, "b", 1));
    assertThat(PayloadHash.of(swapped))
        .as("values moved between keys")
        .isNotEqualTo(PayloadHash.of(m1));
  }

  @Test
  void aPayloadThatHoldsItselfOrThrowsWhenReadStillHashesAtOnce() {
    List<Object> self = new ArrayList<>();
    self.add("a");
    self.add(self);
    assertThat(PayloadHash.of(self)).isEqualTo(PayloadHash.of(self));
    List<Object> wide = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      wide.add(wide); // ten references to itself: 10^16 values if walked whole
    }
    assertThat(PayloadHash.of(wide)).isEqualTo(PayloadHash.of(wide));
    long throwing = PayloadHash.of(new Throwing("x"));
    assertThat(throwing).isEqualTo(PayloadHash.of(new Throwing("y")));
    Object badText =
        new Object() {
          @Override
          public String toString() {
            throw new IllegalStateException("no text");
          }
        };
    assertThat(PayloadHash.of(badText)).isEqualTo(PayloadHash.of(badText));
  }
}
