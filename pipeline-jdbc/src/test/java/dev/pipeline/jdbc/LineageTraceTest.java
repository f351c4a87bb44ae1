package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** A batch's row of lineage (packing 3): each record's events read back by its exact id. */
class LineageTraceTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /** Text out into a builder, as the H2 path writes a row's events. */
  private record Text(StringBuilder b) implements BulkAppend.TextOut {
    @Override
    public BulkAppend.TextOut append(char c) {
      b.append(c);
      return this;
    }

    @Override
    public BulkAppend.TextOut append(CharSequence text, int from, int to) {
      b.append(text, from, to);
      return this;
    }

    @Override
    public BulkAppend.TextOut append(long number) {
      b.append(number);
      return this;
    }
  }

  private static LineageEvent event(
      String id,
      String stage,
      int second,
      long in,
      @Nullable Long out,
      @Nullable String source,
      @Nullable String parent) {
    return new LineageEvent(
        id,
        stage,
        out == null ? LineageOutcome.FILTERED : LineageOutcome.PASSED,
        T0.plusSeconds(second),
        T0.plusSeconds(second + 1),
        1,
        in,
        out,
        source,
        parent,
        0,
        null,
        null,
        out == null ? "not|wanted\n" : null,
        null);
  }

  /** A batch's row of these records' events, written as the lineage writer writes one. */
  private static String row(List<List<LineageEvent>> records) {
    Text out = new Text(new StringBuilder());
    for (int i = 0; i < records.size(); i++) {
      List<LineageEvent> events = records.get(i);
      LineageEvent first = events.get(0);
      if (i > 0) {
        out.append('\n');
      }
      LineageTrace.header(out, first.recordId(), first.sourceId(), first.parentId());
      out.append('\n');
      LineageTrace.pack(out, events, T0.getEpochSecond() * 1_000_000L);
    }
    return out.b().toString();
  }

  @Test
  void eachRecordsEventsAreReadBackFromABatchsRowByItsExactId() {
    List<LineageEvent> r1 =
        List.of(
            event("r1", "parsing", 1, 7, 8L, "src", null),
            event("r1", "cleaning", 2, 8, 9L, "src", null),
            event("r1", "sink", 3, 9, 9L, "src", null));
    List<LineageEvent> r10 =
        List.of(
            event("r10", "parsing", 4, 7, 5L, "src", null),
            event("r10", "x", 5, 5, null, "src", null));
    String hostileId = "=a|b\\c\nd\te";
    List<LineageEvent> hostile = List.of(event(hostileId, "parsing", 6, -1, -2L, "", "p|q\\"));
    String packed = row(List.of(r1, r10, hostile));

    assertThat(LineageTrace.unpackOf("r1", T0, packed)).containsExactlyElementsOf(r1);
    assertThat(LineageTrace.unpackOf("r10", T0, packed))
        .as("not the events of r1, whose id begins it")
        .containsExactlyElementsOf(r10);
    assertThat(LineageTrace.unpackOf(hostileId, T0, packed))
        .as("an id holding the separators, escapes and the record line's mark")
        .containsExactlyElementsOf(hostile);
    assertThat(LineageTrace.unpackOf(hostileId, T0, packed).get(0).sourceId()).isEmpty();
    assertThat(LineageTrace.unpackOf("r", T0, packed)).isEmpty();
    assertThat(LineageTrace.unpackOf("=r1", T0, packed)).isEmpty();
  }

  @Test
  void aBatchsRowWhoseRecordLineIsMalformedIsRefused() {
    assertThatThrownBy(() -> LineageTrace.unpackOf("r1", T0, "=r1|src\nparsing|P|0|1||a|b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("record line has 2 fields, not 3");
    assertThatThrownBy(() -> LineageTrace.unpackOf("r1", T0, "=r1||\nparsing|P|0|1|||b"))
        .as("its first event without its input hash")
        .isInstanceOf(IllegalArgumentException.class);
  }
}
