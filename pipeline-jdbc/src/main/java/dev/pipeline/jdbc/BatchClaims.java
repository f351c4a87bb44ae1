package dev.pipeline.jdbc;

import dev.pipeline.jdbc.BatchLedger.Batch;
import dev.pipeline.jdbc.BatchLedger.Entry;
import dev.pipeline.store.spi.SourceReplay;
import dev.pipeline.store.spi.SourceSpan;
import java.sql.Array;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;

/**
 * Claims of the {@link BatchLedger}: an open batch whose lease ran out is taken whole by this
 * worker, under a new token, with the records not yet ended (those handed to the sink before
 * flagged), unpacked from the batch's payloads or, for a batch kept as a source span, read again
 * from the source through the replay a run gave. Only batches of sources this worker can read again
 * are claimed.
 */
final class BatchClaims extends LedgerPart {
  private final Map<String, SourceReplay> replays = new ConcurrentHashMap<>();

  BatchClaims(LedgerPart.Setup setup) {
    super(setup);
  }

  /** Keeps the way to read again spans of the sources a run of the pipeline reads. */
  void replayFrom(String pipeline, SourceReplay replay) {
    replays.put(pipeline, replay);
  }

  /** The pipeline's replay, if a run gave one. */
  @Nullable SourceReplay replay(String pipeline) {
    return replays.get(pipeline);
  }

  /** The ids of the sources whose spans this worker can read again (claims take only those). */
  List<String> replayable(String pipeline) {
    SourceReplay r = replays.get(pipeline);
    return r == null ? List.of() : List.copyOf(r.sources());
  }

  /**
   * A batch claimed: what to hand to the engine, and what to note. A batch kept as a source span
   * has its span, and its pending entries have neither payload nor record: they are read again.
   */
  record Claimed(Batch batch, List<Entry> pending, Set<Integer> noted, @Nullable SourceSpan span) {}

  /**
   * Claims one open batch whose lease ran out (not one this worker holds under a token of {@code
   * held}) under {@code token}, with its records not yet ended; null if there is none.
   */
  @Nullable Claimed claim(Handle h, String pipeline, long token, Long[] held) throws SQLException {
    Map<String, Object> row;
    if (dialect.locksInSubqueries()) {
      row = claimedRow(bindClaim(h.createQuery(sql.claimPg), pipeline, token, held));
    } else {
      List<Long> ids =
          h.createQuery(sql.claimPick)
              .bind("pipeline", pipeline)
              .bind("owner", workerId)
              .bind("held", Args.array("bigint", held))
              .bind("sources", Args.texts(replayable(pipeline)))
              .mapTo(Long.class)
              .list();
      if (ids.isEmpty()) {
        return null;
      }
      long id = ids.get(0);
      int taken =
          h.createUpdate(sql.claimTake)
              .bind("batch", id)
              .bind("pipeline", pipeline)
              .bind("owner", workerId)
              .bind("held", Args.array("bigint", held))
              .bind("sources", Args.texts(replayable(pipeline)))
              .bind("token", token)
              .bind("lease_ms", leaseMillis)
              .execute();
      if (taken == 0) {
        return null;
      }
      row = claimedRow(h.createQuery(sql.claimRead).bind("batch", id));
    }
    if (row == null) {
      return null;
    }
    long id = (Long) row.get("batch_id");
    Set<Integer> ended = new HashSet<>();
    Set<Integer> noted = new HashSet<>();
    h.createQuery(sql.eventsOf)
        .bind("batch", id)
        .map(
            (rs, ctx) -> {
              Set<Integer> into = "E".equals(rs.getString(1)) ? ended : noted;
              Array seqs = rs.getArray(2);
              for (Object o : (Object[]) seqs.getArray()) {
                into.add(((Number) o).intValue());
              }
              return 1;
            })
        .forEach(x -> {});
    SourceSpan span = (SourceSpan) row.get("span");
    byte[] packed = (byte[]) row.get("payloads");
    List<Entry> pending = new ArrayList<>();
    @SuppressWarnings("unchecked")
    List<String> listed = (List<String>) row.get("record_ids");
    if (span != null) {
      members(h, pipeline, id, listed)
          .map((rs, ctx) -> new Entry(rs.getInt(1), rs.getString(2), null, 0, null, null))
          .forEach(
              e -> {
                if (!ended.contains(e.seq())) {
                  pending.add(e);
                }
              });
      pending.sort(java.util.Comparator.comparingInt(Entry::seq));
    } else if (packed != null) {
      Set<Integer> members =
          new HashSet<>(members(h, pipeline, id, listed).mapTo(Integer.class).list());
      for (Entry e : PackedBatch.unpack(packed)) {
        if (members.contains(e.seq()) && !ended.contains(e.seq())) {
          pending.add(e);
        }
      }
    }
    Batch batch =
        new Batch(
            id,
            (String) row.get("stage"),
            String.valueOf(row.get("payload_format")),
            token,
            (Integer) row.get("claim_count"));
    if (pending.isEmpty()) {
      // every record ended, but the batch was not closed: close it now
      h.createUpdate(sql.close)
          .bind("batch", id)
          .bind("owner", workerId)
          .bind("token", token)
          .execute();
    }
    return new Claimed(batch, pending, noted, span);
  }

  private org.jdbi.v3.core.statement.Query bindClaim(
      org.jdbi.v3.core.statement.Query q, String pipeline, long token, Long[] held) {
    return q.bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("held", Args.array("bigint", held))
        .bind("sources", Args.texts(replayable(pipeline)))
        .bind("token", token)
        .bind("lease_ms", leaseMillis);
  }

  /** The id rows of a batch (their place and id), found from the ids the batch lists. */
  private Query members(Handle h, String pipeline, long batch, List<String> listed) {
    return h.createQuery(sql.membersOf)
        .bind("pipeline", pipeline)
        .bind("batch", batch)
        .bind("ids", Args.texts(listed));
  }

  private static @Nullable Map<String, Object> claimedRow(org.jdbi.v3.core.statement.Query q) {
    return q.map(
            (rs, ctx) -> {
              Map<String, Object> m = new HashMap<>();
              m.put("batch_id", rs.getLong("batch_id"));
              m.put("stage", rs.getString("stage"));
              m.put("payloads", rs.getBytes("payloads"));
              m.put("payload_format", rs.getString("payload_format"));
              m.put("claim_count", rs.getInt("claim_count"));
              m.put("record_ids", BatchQueries.texts(rs.getArray("record_ids")));
              String source = rs.getString("source_id");
              m.put(
                  "span",
                  source == null
                      ? null
                      : new SourceSpan(
                          source,
                          rs.getString("source_position"),
                          rs.getInt("source_count"),
                          rs.getString("source_end")));
              return m;
            })
        .findFirst()
        .orElse(null);
  }
}
