package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.ReferenceData;
import dev.pipeline.testkit.ManualClock;
import dev.pipeline.testkit.StageResult;
import dev.pipeline.testkit.StageTester;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RuleTypesTest {

  /** The gate with one rule, run by the test kit on a manual clock. */
  private static <T> StageTester<T, T> one(Class<T> type, Rule rule) {
    QualityGate<T> gate = QualityGate.of(type).rule(rule).build();
    return StageTester.of(gate)
        .clock(ManualClock.startingAt(Instant.parse("2026-01-01T00:00:00Z")));
  }

  private static String failure(StageResult<?> result) {
    assertThat(result.isFailed()).as("the record fails").isTrue();
    assertThat(result.failure()).isInstanceOf(QualityViolationException.class);
    return result.failure().getMessage();
  }

  @Test
  void notNullFailsNullAndBlankThroughANestedPath() {
    var t = one(Listing.class, Rule.notNull("title-set", "title"));
    assertThat(t.run(Listing.good("a")).isPassed()).isTrue();
    assertThat(failure(t.run(Listing.good("b").withTitle("  ")))).contains("title is blank");
    var currency = one(Listing.class, Rule.notNull("currency-set", "price.currency"));
    assertThat(currency.run(Listing.good("c")).isPassed()).isTrue();
    assertThat(currency.run(Listing.good("d").withPrice(new Listing.Price(1, null))).isFailed())
        .isTrue();
  }

  @Test
  void rangeIncludesAndExcludesItsBounds() {
    var t = one(Listing.class, Rule.range("price-range", "price.amount", "(0, 125000]"));
    assertThat(t.run(Listing.good("a")).isPassed()).isTrue();
    assertThat(failure(t.run(Listing.good("b").withPrice(new Listing.Price(0, "EUR")))))
        .contains("price-range")
        .contains("not in (0, 125000]");
    assertThat(t.run(Listing.good("c").withPrice(new Listing.Price(125_000.5, "EUR"))).isFailed())
        .isTrue();
    assertThat(t.run(Listing.good("d").withPrice(null)).isPassed())
        .as("a null is NOT_NULL's concern")
        .isTrue();
  }

  @Test
  void inSetAndLength() {
    var set = one(Listing.class, Rule.inSet("currency", "price.currency", "EUR", "USD"));
    assertThat(set.run(Listing.good("a")).isPassed()).isTrue();
    assertThat(set.run(Listing.good("b").withPrice(new Listing.Price(1, "XYZ"))).isFailed())
        .isTrue();
    var length = one(Listing.class, Rule.length("title-length", "title", "[3, 40]"));
    assertThat(length.run(Listing.good("c")).isPassed()).isTrue();
    assertThat(failure(length.run(Listing.good("d").withTitle("ab")))).contains("has length 2");
    var tags = one(Listing.class, Rule.length("tags", "tags", "[1, 1]"));
    assertThat(tags.run(Listing.good("e")).isFailed()).as("two tags").isTrue();
  }

  @Test
  void patternMatchesTheWholeText() {
    var t = one(Listing.class, Rule.pattern("id-form", "id", "[a-z]+-\\d{3}"));
    assertThat(t.run(Listing.good("abc-123")).isPassed()).isTrue();
    assertThat(t.run(Listing.good("abc-1234")).isFailed()).isTrue();
    assertThat(t.run(Listing.good("xabc-123!")).isFailed()).isTrue();
  }

  @Test
  void formatsOfDatesNumbersEmailsAndUrls() {
    var date = one(Listing.class, Rule.format("posted-date", "posted", "date"));
    assertThat(date.run(Listing.good("a")).isPassed()).isTrue();
    assertThat(date.run(Listing.good("b").withPosted("2025-02-30")).isFailed()).isTrue();
    var custom = one(Listing.class, Rule.format("posted-de", "posted", "date:dd.MM.uuuu"));
    assertThat(custom.run(Listing.good("c").withPosted("31.12.2025")).isPassed()).isTrue();
    assertThat(custom.run(Listing.good("d")).isFailed()).isTrue();
    var number = one(Listing.class, Rule.format("posted-number", "posted", "number"));
    assertThat(number.run(Listing.good("e").withPosted("-12.5e3")).isPassed()).isTrue();
    assertThat(number.run(Listing.good("f").withPosted("12,5")).isFailed()).isTrue();
    var email = one(Listing.class, Rule.format("email", "email", "email"));
    assertThat(email.run(Listing.good("g")).isPassed()).isTrue();
    assertThat(email.run(Listing.good("h").withEmail("no-at.example.com")).isFailed()).isTrue();
    assertThat(email.run(Listing.good("i").withEmail("a@b")).isFailed()).isTrue();
    var url = one(Listing.class, Rule.format("url", "url", "url"));
    assertThat(url.run(Listing.good("j")).isPassed()).isTrue();
    assertThat(url.run(Listing.good("k").withUrl("javascript:alert(1)")).isFailed()).isTrue();
    assertThat(url.run(Listing.good("l").withUrl("http://")).isFailed()).isTrue();
  }

  @Test
  void uniqueWithinAWindowButNotTheSameRecordTwice() {
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class)
            .rule(Rule.unique("unique-url", "url").parameter("window", "PT1M"))
            .build();
    ManualClock clock = ManualClock.create();
    var t = StageTester.of(gate).clock(clock);
    Listing a = Listing.good("a").withUrl("https://example.com/same");
    assertThat(t.run("r1", a).isPassed()).isTrue();
    assertThat(t.run("r1", a).isPassed()).as("a retry of the same record").isTrue();
    assertThat(failure(t.run("r2", Listing.good("b").withUrl("https://example.com/same"))))
        .contains("was seen in record 'r1'");
    clock.advance(Duration.ofMinutes(2));
    assertThat(t.run("r3", Listing.good("c").withUrl("https://example.com/same")).isPassed())
        .as("the window has passed")
        .isTrue();
  }

  @Test
  void uniqueRemembersAtMostMaxKeys() {
    assertThatThrownBy(
            () ->
                QualityGate.of(Listing.class)
                    .rule(Rule.unique("u", "url").parameter("max_keys", "0"))
                    .build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("max_keys must be a whole number in [1, 100000000]");
  }

  @Test
  void referenceLooksTheValueUpThroughThePipelinesCache() {
    ReferenceData<String, String> currencies =
        ReferenceData.named("currencies")
            .build(key -> Set.of("EUR", "USD").contains(key) ? key : null);
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class)
            .reference(currencies)
            .rule(Rule.reference("known-currency", "price.currency", "currencies"))
            .build();
    var t = StageTester.of(gate).withReferenceData(currencies);
    assertThat(t.run(Listing.good("a")).isPassed()).isTrue();
    assertThat(failure(t.run(Listing.good("b").withPrice(new Listing.Price(3, "GBP")))))
        .contains("'GBP' is not in currencies");
  }

  @Test
  void referenceToDataTheGateWasNotGivenIsRefused() {
    assertThatThrownBy(
            () ->
                QualityGate.of(Listing.class)
                    .rule(Rule.reference("known", "price.currency", "nowhere"))
                    .build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("no reference data named 'nowhere'");
  }

  @Test
  void consistencyComparesTwoFieldsAndImplications() {
    var t = one(Listing.class, Rule.consistency("qty-vs-price", "quantity <= price.amount"));
    assertThat(t.run(Listing.good("a")).isPassed()).isTrue();
    assertThat(failure(t.run(Listing.good("b").withQuantity(200_000))))
        .contains("not quantity <= price.amount");
    var implies =
        one(Listing.class, Rule.consistency("price-has-currency", "price -> price.currency"));
    assertThat(implies.run(Listing.good("c").withPrice(null)).isPassed()).isTrue();
    assertThat(implies.run(Listing.good("d").withPrice(new Listing.Price(1, null))).isFailed())
        .isTrue();
  }

  @Test
  void freshnessOnThePipelinesClock() {
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class).rule(Rule.freshness("fresh", "seen", "PT1H")).build();
    ManualClock clock = ManualClock.startingAt(Instant.parse("2026-01-01T00:30:00Z"));
    var t = StageTester.of(gate).clock(clock);
    assertThat(t.run(Listing.good("a")).isPassed()).isTrue();
    clock.advance(Duration.ofHours(1));
    assertThat(failure(t.run(Listing.good("b")))).contains("seen is PT1H30M old, more than PT1H");
    var text = one(Listing.class, Rule.freshness("posted-fresh", "posted", "P1D"));
    assertThat(text.run(Listing.good("c").withPosted("2026-01-01")).isPassed()).isTrue();
    assertThat(text.run(Listing.good("d").withPosted("2025-06-01")).isFailed()).isTrue();
    assertThat(text.run(Listing.good("e").withPosted("yesterday")).isFailed()).isTrue();
  }

  @Test
  void celExpressionOverTheRecordsFields() {
    var t =
        one(
            Listing.class,
            Rule.expression(
                "sane", "price.amount > 0.0 && size(title) >= 3 && tags.exists(t, t == 'used')"));
    assertThat(t.run(Listing.good("a")).isPassed()).isTrue();
    assertThat(failure(t.run(Listing.good("b").withTitle("ab"))))
        .contains("sane: the expression is false");
    var tree = one(Listing.class, Rule.expression("hours", "attributes.engine.hours < 10000"));
    assertThat(tree.run(Listing.good("c")).isPassed()).isTrue();
    assertThat(
            tree.run(Listing.good("d").withAttributes(Map.of("engine", Map.of("hours", 20_000))))
                .isFailed())
        .isTrue();
    var missing = one(Listing.class, Rule.expression("hours", "attributes.engine.hours < 10000"));
    assertThat(failure(missing.run(Listing.good("e").withAttributes(Map.of()))))
        .contains("could not be evaluated");
  }

  @Test
  void pathsReachBeansMapsAndLists() {
    var bean = one(Bean.class, Rule.expression("active", "active && name != ''"));
    assertThat(bean.run(new Bean("x", true)).isPassed()).isTrue();
    assertThat(bean.run(new Bean("x", false)).isFailed()).isTrue();
    var beanPath = one(Bean.class, Rule.length("name", "name", "[2, )"));
    assertThat(beanPath.run(new Bean("x", true)).isFailed()).isTrue();
    @SuppressWarnings({"unchecked", "rawtypes"})
    Class<Map<String, Object>> mapType = (Class) Map.class;
    var map = one(mapType, Rule.range("hours", "engine.hours", "[0, 5000]"));
    assertThat(map.run(Map.of("engine", Map.of("hours", 1200))).isPassed()).isTrue();
    assertThat(map.run(Map.of("engine", Map.of("hours", 9000))).isFailed()).isTrue();
    var list = one(Listing.class, Rule.inSet("first-tag", "tags.0", "used", "new"));
    assertThat(list.run(Listing.good("a")).isPassed()).isTrue();
    var deep = one(Listing.class, Rule.range("hours", "attributes.engine.hours", "[0, 100]"));
    assertThat(deep.run(Listing.good("b")).isFailed()).isTrue();
  }

  @Test
  void aMissingFieldIsRefusedNamingTheTypeAndThePath() {
    assertThatThrownBy(
            () -> QualityGate.of(Listing.class).rule(Rule.notNull("n", "price.amout")).build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("type dev.pipeline.quality.Listing$Price has no field 'amout'")
        .hasMessageContaining("path 'price.amout'")
        .hasMessageContaining("[amount, currency]");
    assertThatThrownBy(() -> QualityGate.of(Bean.class).rule(Rule.notNull("n", "nme")).build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("Bean has no field 'nme'")
        .hasMessageContaining("[active, name]");
    assertThatThrownBy(
            () -> QualityGate.of(Listing.class).rule(Rule.expression("e", "titel == ''")).build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("titel");
    assertThatThrownBy(
            () -> QualityGate.of(Listing.class).rule(Rule.inSet("t", "tags.first", "x")).build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("must be an index");
  }

  @Test
  void malformedArgumentsAreRefusedWithTheExpectedForm() {
    assertThatThrownBy(
            () -> QualityGate.of(Listing.class).rule(Rule.range("r", "quantity", "0..10")).build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("is not of the form [low, high]");
    assertThatThrownBy(
            () -> QualityGate.of(Listing.class).rule(Rule.format("f", "url", "uri")).build())
        .hasMessageContaining("use date, date:<pattern>, number, integer, email or url");
    assertThatThrownBy(
            () ->
                QualityGate.of(Listing.class).rule(Rule.freshness("f", "seen", "an hour")).build())
        .hasMessageContaining("is not an ISO-8601 duration");
    assertThatThrownBy(
            () ->
                QualityGate.of(Listing.class).rule(Rule.consistency("c", "quantity ~ id")).build())
        .hasMessageContaining("is not '<path> <op> <path>'");
    assertThatThrownBy(() -> Rule.notNull("bad name!", "id"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be 1 to 200 letters");
    assertThatThrownBy(() -> Rule.notNull("n", "id").mostly(1.5))
        .hasMessageContaining("mostly must be in [0, 1]");
  }
}
