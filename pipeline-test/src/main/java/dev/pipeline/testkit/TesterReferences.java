package dev.pipeline.testkit;

import dev.pipeline.PipelineClock;
import dev.pipeline.ReferenceData;
import dev.pipeline.StageName;
import dev.pipeline.internal.ReferenceTables;
import dev.pipeline.metrics.ReferenceDataMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The reference data a {@link StageTester} gives its stage: the declarations added, and their
 * caches, built at the first run on the tester's clock and kept for the runs after it. Loads and
 * refreshes run on the calling thread, as the tester does everything. Not thread-safe.
 */
final class TesterReferences {
  private final List<ReferenceData<?, ?>> declared = new ArrayList<>();
  private @Nullable ReferenceTables tables;

  void add(ReferenceData<?, ?>[] data) {
    Objects.requireNonNull(data, "data cannot be null");
    if (tables != null) {
      throw new IllegalStateException(
          "reference data must be added before the tester's first run, which built the caches");
    }
    List<ReferenceData<?, ?>> adding = new ArrayList<>();
    for (ReferenceData<?, ?> d : data) {
      Objects.requireNonNull(d, "data cannot hold null");
      for (ReferenceData<?, ?> other : declared.isEmpty() ? adding : concat(adding)) {
        if (other == d) {
          throw new IllegalStateException("reference data '" + d.name() + "' was already added");
        }
        if (other.name().equals(d.name())) {
          throw new IllegalStateException(
              "reference data name '"
                  + d.name()
                  + "' is given twice, by two different declarations; give each its own name, or"
                  + " add the same ReferenceData object once");
        }
      }
      adding.add(d);
    }
    declared.addAll(adding);
  }

  private List<ReferenceData<?, ?>> concat(List<ReferenceData<?, ?>> adding) {
    List<ReferenceData<?, ?>> all = new ArrayList<>(declared);
    all.addAll(adding);
    return all;
  }

  /** The caches, built on first use for the stage under test. */
  ReferenceTables tables(String pipeline, StageName stage, PipelineClock clock) {
    return tables(
        "the StageTester of pipeline '" + pipeline + "'",
        "give it to the tester with StageTester.withReferenceData(...)",
        stage,
        clock);
  }

  /** The caches, built on first use for the stage, for {@code owner}. */
  ReferenceTables tables(String owner, String howToDeclare, StageName stage, PipelineClock clock) {
    if (tables == null) {
      List<ReferenceTables.Declared> all = new ArrayList<>();
      for (ReferenceData<?, ?> d : declared) {
        all.add(new ReferenceTables.Declared(d, List.of(stage)));
      }
      tables = ReferenceTables.inline(owner, all, clock, howToDeclare);
    }
    return tables;
  }

  List<ReferenceDataMetrics> metrics() {
    return tables == null ? List.of() : tables.snapshot();
  }
}
