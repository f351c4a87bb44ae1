package dev.pipeline.quality;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rules a gate checks at one moment, each compiled for the gate's record type: swapped whole
 * when the table changes, so a record is checked against one version of the rules. Immutable and
 * thread-safe.
 */
final class RuleSet {
  /** One compiled rule, with the version it came from (0 for rules not in a table). */
  record Compiled(Rule rule, Checks.Check check, long version, Duration window) {}

  private final Compiled[] perRecord;
  private final List<Compiled> volume;
  private final Map<String, Compiled> byName;
  private final int dimensions;

  private RuleSet(Map<String, Compiled> byName) {
    this.byName = byName;
    List<Compiled> records = new ArrayList<>();
    List<Compiled> volumes = new ArrayList<>();
    int mask = 0;
    for (Compiled c : byName.values()) {
      if (!c.rule().enabled()) {
        continue;
      }
      if (c.rule().type() == RuleType.VOLUME) {
        volumes.add(c);
      } else {
        records.add(c);
        mask |= GateScores.bit(GateScores.dimension(c.rule().type()));
      }
    }
    this.dimensions = mask;
    this.perRecord = records.toArray(Compiled[]::new);
    this.volume = List.copyOf(volumes);
  }

  static RuleSet empty() {
    return new RuleSet(Map.of());
  }

  /**
   * Compiles every rule for {@code type}.
   *
   * @throws InvalidRuleException for the first rule that cannot be compiled
   */
  static RuleSet compile(
      List<Rule> rules, Map<String, Long> versions, Class<?> type, CheckResources resources) {
    Map<String, Compiled> all = new LinkedHashMap<>();
    for (Rule rule : rules) {
      all.put(
          rule.name(), compileOne(rule, versions.getOrDefault(rule.name(), 0L), type, resources));
    }
    return new RuleSet(all);
  }

  static Compiled compileOne(Rule rule, long version, Class<?> type, CheckResources resources) {
    Checks.Check check = Checks.compile(rule, type, resources);
    Duration window =
        rule.type() == RuleType.VOLUME ? Checks.window(rule, Duration.ofMinutes(1)) : Duration.ZERO;
    return new Compiled(rule, check, version, window);
  }

  /** This set with {@code changed} rules replaced or added, and {@code removed} ones gone. */
  RuleSet with(Map<String, Compiled> changed, List<String> removed) {
    Map<String, Compiled> all = new LinkedHashMap<>(byName);
    removed.forEach(all::remove);
    all.putAll(changed);
    return new RuleSet(all);
  }

  /** The quality dimensions the per-record rules measure, as a mask of {@link GateScores#bit}s. */
  int dimensions() {
    return dimensions;
  }

  Compiled[] perRecord() {
    return perRecord;
  }

  List<Compiled> volume() {
    return volume;
  }

  Map<String, Compiled> byName() {
    return byName;
  }
}
