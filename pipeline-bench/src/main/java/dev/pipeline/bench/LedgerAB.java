package dev.pipeline.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ledgers alternated in one JVM: the batch ledger (the default), the full ledger (the batch
 * ledger, every ended record's full row written with its end) and rows from ingest (a row per
 * record, written row by row). For each run: CPU per line (this JVM and the PostgreSQL backends),
 * round trips per line, and what the run left in the database: rows per table, H2's bytes written
 * to its file, PostgreSQL's tuples inserted, updated and deleted and the tables' size with their
 * indexes.
 *
 * <p>{@code java -cp benchmarks.jar dev.pipeline.bench.LedgerAB <lines> <rounds>
 * <h2|postgresql>...}
 */
final class LedgerAB {
  private static final List<String> TABLES =
      List.of(
          "pipeline_records",
          "pipeline_batches",
          "pipeline_batch_records",
          "pipeline_batch_events",
          "pipeline_errors");

  private LedgerAB() {}

  public static void main(String[] args) throws Exception {
    int lines = Integer.parseInt(args[0]);
    int rounds = Integer.parseInt(args[1]);
    List<BenchDatabase.Kind> kinds = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      kinds.add(
          args[i].equalsIgnoreCase("h2") ? BenchDatabase.Kind.H2 : BenchDatabase.Kind.POSTGRES);
    }
    for (BenchDatabase.Kind kind : kinds) {
      for (Way way : Way.values()) {
        way.run(kind, Math.max(1, lines / 5), db -> {}); // warm-up, on a fifth of the lines
      }
    }
    List<Way> ways = new ArrayList<>(List.of(Way.values()));
    for (int r = 0; r < rounds; r++) {
      for (BenchDatabase.Kind kind : kinds) {
        for (Way way : ways) {
          Map<String, Long> left = new LinkedHashMap<>();
          DurableWork.Measured m = way.run(kind, lines, db -> left.putAll(probe(db)));
          StringBuilder counts = new StringBuilder();
          left.forEach(
              (k, v) ->
                  counts.append(String.format(Locale.ROOT, " %s=%.3f", k, v / (double) lines)));
          System.out.printf(
              Locale.ROOT,
              "round %d %s %-16s %8.0f lines/s, CPU %6.1f us/line (backends %5.1f),"
                  + " %.4f trips/line; per line:%s; %s%n",
              r,
              kind,
              way.label,
              m.rate(lines),
              m.cpuMicrosPerLine(lines),
              m.helperMicrosPerLine(lines),
              m.roundTrips() / (double) lines,
              counts,
              m.cpu());
          if (r == rounds - 1) {
            System.out.println("  round trips by statement: " + m.breakdown());
          }
        }
      }
      java.util.Collections.rotate(ways, 1); // each way first in turn
    }
  }

  /** The ledgers compared. */
  private enum Way {
    BATCH("batch ledger", false, false),
    FULL("full ledger", true, false),
    FROM_INGEST("rows from ingest", true, true);

    final String label;
    final boolean full;
    final boolean fromIngest;

    Way(String label, boolean full, boolean fromIngest) {
      this.label = label;
      this.full = full;
      this.fromIngest = fromIngest;
    }

    DurableWork.Measured run(
        BenchDatabase.Kind kind, int lines, java.util.function.Consumer<BenchDatabase> after)
        throws Exception {
      return DurableWork.durableLedger(kind, lines, full, fromIngest, after);
    }
  }

  private static Map<String, Long> probe(BenchDatabase db) {
    Map<String, Long> out = new LinkedHashMap<>();
    String schema = db.schema();
    String prefix = schema == null ? "" : schema + ".";
    try (Connection c = db.connection();
        Statement s = c.createStatement()) {
      for (String t : TABLES) {
        try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + prefix + t)) {
          rs.next();
          out.put(t.replace("pipeline_", ""), rs.getLong(1));
        }
      }
      if (schema == null) {
        try (ResultSet rs =
            s.executeQuery(
                "SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS"
                    + " WHERE SETTING_NAME = 'info.FILE_WRITE_BYTES'")) {
          if (rs.next()) {
            out.put("h2WriteBytes", Long.parseLong(rs.getString(1)));
          }
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    if (schema != null) {
      db.evictIdle();
      try {
        Thread.sleep(1500); // the backends that closed report their statistics
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      try (Connection c = db.connection();
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT SUM(n_tup_ins), SUM(n_tup_upd), SUM(n_tup_hot_upd), SUM(n_tup_del),"
                      + " SUM(pg_total_relation_size(relid))"
                      + " FROM pg_stat_user_tables WHERE schemaname = '"
                      + schema
                      + "'")) {
        rs.next();
        out.put("ins", rs.getLong(1));
        out.put("upd", rs.getLong(2));
        out.put("hot", rs.getLong(3));
        out.put("del", rs.getLong(4));
        out.put("bytes", rs.getLong(5));
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }
    return out;
  }
}
