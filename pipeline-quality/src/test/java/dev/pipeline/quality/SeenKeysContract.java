package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** UNIQUE rules with scope=store: keys seen in earlier runs, kept in quality_seen_keys. */
abstract class SeenKeysContract extends DatabaseContract {
  record Offer(String serial) {}

  private SeenKeys keys() {
    return SeenKeys.on(db().dataSource).schema(db().schema).build();
  }

  /** A run of a fresh gate (as after a restart) over offers of serials from..to-1. */
  private RunResult run(String run, int from, int to) {
    QualityGate<Offer> gate =
        QualityGate.of(Offer.class)
            .rule(
                Rule.unique("one-serial", "serial")
                    .parameter("scope", "store")
                    .action(Action.FILTER))
            .seenKeys(keys())
            .build();
    List<Offer> offers = IntStream.range(from, to).mapToObj(i -> new Offer("s-" + i)).toList();
    try (Pipeline<Offer, Offer> pipeline =
        Pipeline.builder("offers", Offer.class)
            .stage(StageName.VALIDATION, gate, gate.options())
            .sink(records -> {})
            .build()) {
      return pipeline.run(Source.of("feed", offers.iterator(), o -> run + "/" + o.serial()));
    }
  }

  @Test
  void aKeySeenInAnEarlierRunIsADuplicateAndTheSameRecordAgainIsNot() {
    RunResult first = run("run1", 0, 10);
    assertThat(first.published()).isEqualTo(10);

    RunResult second = run("run2", 5, 15);
    assertThat(second.filtered()).as("s-5..s-9 were seen in run 1").isEqualTo(5);
    assertThat(second.published()).isEqualTo(5);
    assertThat(db().query("SELECT COUNT(*) FROM {s}.quality_seen_keys").get(0).get(0))
        .asString()
        .isEqualTo("15");

    SeenKeys fresh = keys();
    assertThat(fresh.firstRecord("offers", "validation", "one-serial", "s-3", "run1/s-3"))
        .as("a replay of the record that first had the key")
        .isNull();
    assertThat(fresh.firstRecord("offers", "validation", "one-serial", "s-3", "run9/s-3"))
        .isEqualTo("run1/s-3");
    assertThat(fresh.firstRecord("offers", "validation", "other-rule", "s-3", "run9/s-3"))
        .as("each rule has its own keys")
        .isNull();
  }

  @Test
  void scopeStoreWithoutSeenKeysOrAnUnknownScopeFailsAtBuild() {
    assertThatThrownBy(
            () ->
                QualityGate.of(Offer.class)
                    .rule(Rule.unique("one-serial", "serial").parameter("scope", "store"))
                    .build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("one-serial")
        .hasMessageContaining("seenKeys(SeenKeys.on(dataSource).build())");
    assertThatThrownBy(
            () ->
                QualityGate.of(Offer.class)
                    .rule(Rule.unique("one-serial", "serial").parameter("scope", "forever"))
                    .build())
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("scope must be window or store, was 'forever'");
    assertThatThrownBy(() -> SeenKeys.on(db().dataSource).cached(-1))
        .hasMessageContaining("cached must be in [0, 10000000]");
  }
}
