package dev.pipeline.quality;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gate's side of {@code validation_rules}: registers the rules of code at build, then polls the
 * stage's rows and makes the rule set that follows them. Each row's version is handled once,
 * accepted or refused: a refused version is alerted once, and an edit that left the version alone
 * is given the next one. Thread-safe: one worker polls at a time (the others go on with the rules
 * as they are).
 */
final class RuleReloader {
  private static final Logger LOG = LoggerFactory.getLogger(RuleReloader.class);

  /** What was made of a row's version: its rule, or why it was refused. */
  private record Handled(long version, @Nullable Rule rule, @Nullable String problem) {}

  private final RuleTable table;
  private final String pipeline;
  private final String stage;
  private final Duration every;
  private final Class<?> type;
  private final CheckResources resources;
  private final BiConsumer<String, Instant> refused;
  private final ReentrantLock lock = new ReentrantLock();
  // guarded by lock
  private final Map<Long, Handled> handled = new HashMap<>();
  private volatile long nextPollMillis;

  RuleReloader(
      RuleTable table,
      String pipeline,
      String stage,
      Duration every,
      Class<?> type,
      CheckResources resources,
      BiConsumer<String, Instant> refused) {
    this.table = table;
    this.pipeline = pipeline;
    this.stage = stage;
    this.every = every;
    this.type = type;
    this.resources = resources;
    this.refused = refused;
  }

  /**
   * Registers the rules of code and compiles every rule of the stage.
   *
   * @throws InvalidRuleException if a rule of code or a row of the table cannot be checked
   */
  RuleSet register(List<Rule> declared, Instant now) {
    // compile the rules of code first: a bad one fails the build before it reaches the table
    RuleSet.compile(declared, Map.of(), type, resources);
    List<Rule> all = new ArrayList<>();
    Map<String, Long> versions = new HashMap<>();
    lock.lock();
    try {
      for (RuleTable.Row row : table.register(pipeline, stage, declared)) {
        if (row.problem() != null) {
          throw new InvalidRuleException(row.name(), row.problem());
        }
        all.add(Objects.requireNonNull(row.rule()));
        versions.put(row.name(), row.version());
        handled.put(row.id(), new Handled(row.version(), row.rule(), null));
      }
    } finally {
      lock.unlock();
    }
    nextPollMillis = now.toEpochMilli() + every.toMillis();
    return RuleSet.compile(all, versions, type, resources);
  }

  /** Whether a poll is due at {@code now}. */
  boolean due(Instant now) {
    return now.toEpochMilli() >= nextPollMillis;
  }

  /**
   * Polls if due and no other worker is polling, handing a rule set that follows the table to
   * {@code swap} (under the lock, so that swaps happen in the order of the reads).
   */
  void poll(Supplier<RuleSet> current, Consumer<RuleSet> swap, Instant now) {
    if (!lock.tryLock()) {
      return;
    }
    try {
      if (!due(now)) {
        return;
      }
      nextPollMillis = now.toEpochMilli() + every.toMillis();
      reload(current, swap, now);
    } catch (RuntimeException e) {
      LOG.warn(
          "quality gate of stage '{}': could not read validation_rules, keeping the rules as they"
              + " are until the next poll: {}",
          stage,
          QualityText.bounded(e.getMessage(), 400));
    } finally {
      lock.unlock();
    }
  }

  /**
   * Reads the table now, as {@link #poll} does.
   *
   * @throws IllegalStateException if the table cannot be read
   */
  void refresh(Supplier<RuleSet> current, Consumer<RuleSet> swap, Instant now) {
    lock.lock();
    try {
      reload(current, swap, now);
    } finally {
      lock.unlock();
    }
  }

  /** Reads the stage's rows and swaps in the rules that changed. Under the lock. */
  private void reload(Supplier<RuleSet> rules, Consumer<RuleSet> swap, Instant now) {
    RuleSet current = rules.get();
    Map<String, RuleSet.Compiled> changed = new LinkedHashMap<>();
    Set<String> present = new HashSet<>();
    for (RuleTable.Row row : table.rows(pipeline, stage)) {
      present.add(row.name());
      Handled before = handled.get(row.id());
      if (before != null
          && before.version() == row.version()
          && Objects.equals(before.rule(), row.rule())
          && Objects.equals(before.problem(), row.problem())) {
        continue; // this version was handled already
      }
      long version = row.version();
      boolean bump = before != null && before.version() == version;
      // an edit that left the version alone gets the next one, so the history tells them apart
      table.noteEdit(row.id(), version, bump);
      if (bump) {
        version++;
      }
      handled.put(row.id(), new Handled(version, row.rule(), row.problem()));
      if (row.problem() != null) {
        refuse(row.name(), row.problem(), now);
        continue;
      }
      Rule rule = Objects.requireNonNull(row.rule());
      RuleSet.Compiled known = current.byName().get(row.name());
      if (known != null && known.rule().equals(rule)) {
        continue;
      }
      try {
        changed.put(row.name(), RuleSet.compileOne(rule, version, type, resources));
        LOG.info(
            "quality gate of stage '{}': rule '{}' is now version {} ({})",
            stage,
            row.name(),
            version,
            QualityText.bounded(rule.expression(), 200));
      } catch (InvalidRuleException e) {
        refuse(row.name(), e.getMessage(), now);
      }
    }
    List<String> removed = new ArrayList<>();
    for (String name : current.byName().keySet()) {
      if (!present.contains(name)) {
        removed.add(name);
      }
    }
    if (!changed.isEmpty() || !removed.isEmpty()) {
      swap.accept(current.with(changed, removed));
    }
  }

  private void refuse(String rule, @Nullable String problem, Instant now) {
    String message =
        "the quality gate of stage '"
            + stage
            + "' refused the new version of rule '"
            + QualityText.bounded(rule, 80)
            + "' and keeps checking its previous one: "
            + QualityText.bounded(problem, 600);
    LOG.warn("{}", message);
    refused.accept(message, now);
  }
}
