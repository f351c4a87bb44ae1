package dev.pipeline.quality.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.testkit.ManualClock;
import java.time.Duration;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class ProfileJsonTest {

  record Listing(@Nullable Double price, @Nullable String currency) {}

  /** A window of 2,000 listings: prices around 100 (some missing), five currencies, one odd. */
  static WindowProfile window(ManualClock clock, long seed, double priceScale) {
    FieldProfiler<Listing> profiler =
        FieldProfiler.<Listing>builder("extraction")
            .clock(clock)
            .window(Duration.ofMinutes(5))
            .topValues(4)
            .number("price", Listing::price)
            .category("currency", Listing::currency)
            .build();
    Random random = new Random(seed);
    String[] currencies = {"EUR", "USD", "GBP", "CHF", "SEK", "<b>\"odd\"</b>"};
    for (int i = 0; i < 2_000; i++) {
      Double price = i % 50 == 0 ? null : priceScale * (50 + random.nextDouble() * 100);
      profiler.observe(new Listing(price, currencies[random.nextInt(currencies.length)]));
    }
    return profiler.roll();
  }

  @Test
  void aProfileReadBackComparesExactlyAsTheOneWritten() {
    ManualClock clock = ManualClock.create();
    WindowProfile written = window(clock, 1, 1.0);
    WindowProfile read = ProfileJson.read(ProfileJson.write(written));

    assertThat(read.stage()).isEqualTo("extraction");
    assertThat(read.start()).isEqualTo(written.start());
    assertThat(read.end()).isEqualTo(written.end());
    assertThat(read.records()).isEqualTo(2_000);
    FieldProfile price = read.fields().get("price");
    FieldProfile was = written.fields().get("price");
    assertThat(price.nulls()).isEqualTo(was.nulls()).isEqualTo(40);
    assertThat(price.mean()).isEqualTo(was.mean());
    assertThat(price.quantile(0.9)).isEqualTo(was.quantile(0.9));
    assertThat(read.fields().get("currency").topValues())
        .isEqualTo(written.fields().get("currency").topValues())
        .hasSize(4);

    // what matters for drift: the same window compared with either gives the same PSI
    WindowProfile shifted = window(clock, 2, 3.0);
    DriftPolicy policy = DriftPolicy.defaults();
    for (String field : written.fields().keySet()) {
      FieldDrift fromMemory =
          Drift.compare(was(written, field), shifted.fields().get(field), policy);
      FieldDrift fromText =
          Drift.compare(read.fields().get(field), shifted.fields().get(field), policy);
      assertThat(fromText).isEqualTo(fromMemory);
    }
  }

  private static FieldProfile was(WindowProfile p, String field) {
    return p.fields().get(field);
  }

  @Test
  void aCategoryOnlyProfileWithNoNumbersKeepsItsNaNs() {
    ManualClock clock = ManualClock.create();
    FieldProfiler<Listing> profiler =
        FieldProfiler.<Listing>builder("s").clock(clock).number("price", Listing::price).build();
    profiler.observe(new Listing(null, null));
    WindowProfile read = ProfileJson.read(ProfileJson.write(profiler.roll()));
    assertThat(read.fields().get("price").min()).isNaN();
    assertThat(read.fields().get("price").nullRate()).isEqualTo(1.0);
  }

  @Test
  void textThatIsNotAProfileIsRefusedWithTheReason() {
    String good = ProfileJson.write(window(ManualClock.create(), 1, 1.0));
    assertThatThrownBy(() -> ProfileJson.read("{\"format\": 1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not JSON");
    assertThatThrownBy(() -> ProfileJson.read(good.replace("\"format\":1", "\"format\":7")))
        .hasMessageContaining("format is 7");
    assertThatThrownBy(() -> ProfileJson.read(good.replace("\"nulls\":40", "\"nulls\":-3")))
        .hasMessageContaining("'nulls' must be a count");
    assertThatThrownBy(
            () -> ProfileJson.read(good.replaceFirst("\"bins\":\\[", "\"bins\":[99999,")))
        .hasMessageContaining("bins");
    assertThatThrownBy(
            () -> ProfileJson.read(good.replace("\"kind\":\"NUMBER\"", "\"kind\":\"X\"")))
        .hasMessageContaining("unknown kind");
    assertThatThrownBy(() -> ProfileJson.read("[".repeat(10_000)))
        .hasMessageContaining("not a stored profile");
    assertThatThrownBy(() -> ProfileJson.read(" ".repeat(ProfileJson.MAX_CHARS + 1)))
        .hasMessageContaining("over " + ProfileJson.MAX_CHARS);
    assertThatThrownBy(() -> ProfileJson.read("rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA=="))
        .as("a Java serialization stream is not JSON")
        .hasMessageContaining("not JSON");
  }
}
