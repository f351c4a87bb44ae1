package dev.pipeline.quality;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Objects;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The keys UNIQUE rules with {@code scope=store} have seen, kept in the store's {@code
 * quality_seen_keys} table (schema version 10 or later), so that a key seen in an earlier run, or
 * by another worker, is a duplicate too. Give it to a gate with {@code
 * QualityGate.Builder.seenKeys(keys)}.
 *
 * <p>Each key is kept as a 64-bit hash (FNV-1a of its text; two different keys share one with a
 * chance of about n²/2⁶⁵ among n keys) with the record that first had it, so the same record seen
 * again (a retry, a replay after a crash) is not its own duplicate. Cost is bounded: a new key
 * costs one insert, a duplicate one more read, and a key seen lately (the latest {@code cached} of
 * them, 100,000 unless set) no database call at all.
 *
 * <p>Thread-safe: each call takes a connection of its own.
 */
public final class SeenKeys {
  /** The most keys remembered in memory. */
  public static final int MAX_CACHED = 10_000_000;

  private static final int SCHEMA_VERSION = 10;
  // SQL state of a unique violation, on PostgreSQL and H2 alike
  private static final String UNIQUE_VIOLATION = "23505";

  private final DataSource dataSource;
  private final String table;
  private final dev.pipeline.PipelineClock clock;
  private final Cache<Key, String> cache;
  private final String insert;
  private final String select;

  /** A key of one rule of one stage. */
  private record Key(String pipeline, String stage, String rule, long hash) {}

  private SeenKeys(Builder b) {
    this.dataSource = b.dataSource;
    this.table = TableNames.qualified(b.schema, b.prefix, "quality_seen_keys");
    this.clock = b.clock;
    // upkeep on the calling thread, not handed to the common pool (see Checks' window cache)
    this.cache = Caffeine.newBuilder().maximumSize(b.cached).executor(Runnable::run).build();
    this.insert =
        "INSERT INTO "
            + table
            + " (pipeline, stage_name, rule_name, key_hash, record_id, first_seen_at) VALUES (?,"
            + " ?, ?, ?, ?, ?)";
    this.select =
        "SELECT record_id FROM "
            + table
            + " WHERE pipeline = ? AND stage_name = ? AND rule_name = ? AND key_hash = ?";
  }

  /**
   * Starts seen keys on {@code dataSource}, the database of a {@code JdbcPipelineStore}.
   *
   * @throws NullPointerException if {@code dataSource} is null
   */
  public static Builder on(DataSource dataSource) {
    return new Builder(Objects.requireNonNull(dataSource, "dataSource cannot be null"));
  }

  /**
   * Notes that record {@code recordId} has {@code key} for a rule, unless another record had it
   * first.
   *
   * @return the id of the record that had the key first, or null if it is new (or this record's)
   * @throws IllegalStateException if the database cannot be read or written
   */
  @Nullable String firstRecord(
      String pipeline, String stage, String rule, String key, String recordId) {
    Key k = new Key(pipeline, stage, rule, hash(key));
    String first = cache.getIfPresent(k);
    if (first == null) {
      first = claim(k, recordId);
      cache.put(k, first);
    }
    return first.equals(recordId) ? null : first;
  }

  /** Inserts the key for {@code recordId}; if it is there already, reads whose it is. */
  private String claim(Key k, String recordId) {
    try (Connection c = dataSource.getConnection()) {
      try (PreparedStatement s = c.prepareStatement(insert)) {
        bind(s, k);
        s.setString(5, recordId);
        s.setObject(6, OffsetDateTime.ofInstant(clock.now(), ZoneOffset.UTC));
        s.executeUpdate();
        return recordId;
      } catch (SQLException e) {
        if (!UNIQUE_VIOLATION.equals(e.getSQLState())) {
          throw e;
        }
      }
      if (!c.getAutoCommit()) {
        c.rollback();
      }
      try (PreparedStatement s = c.prepareStatement(select)) {
        bind(s, k);
        try (ResultSet rs = s.executeQuery()) {
          return rs.next() ? rs.getString(1) : recordId;
        }
      }
    } catch (SQLException e) {
      throw TableNames.failure(
          "check a key of rule '" + k.rule() + "'", "quality_seen_keys", SCHEMA_VERSION, e);
    }
  }

  private static void bind(PreparedStatement s, Key k) throws SQLException {
    s.setString(1, k.pipeline());
    s.setString(2, k.stage());
    s.setString(3, k.rule());
    s.setLong(4, k.hash());
  }

  /** FNV-1a, 64 bits, of the key's UTF-8 bytes. */
  static long hash(String key) {
    long h = 0xcbf29ce484222325L;
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }

  /** Configures {@link SeenKeys}. Not thread-safe. */
  public static final class Builder extends TableBuilder<Builder> {
    private long cached = 100_000;

    private Builder(DataSource dataSource) {
      super(dataSource);
    }

    /**
     * How many keys are remembered in memory, sparing their database calls; 100,000 unless set.
     *
     * @throws IllegalArgumentException if not in [0, {@value #MAX_CACHED}]
     */
    public Builder cached(long keys) {
      if (keys < 0 || keys > MAX_CACHED) {
        throw new IllegalArgumentException(
            "cached must be in [0, " + MAX_CACHED + "] keys, was " + keys);
      }
      this.cached = keys;
      return this;
    }

    /** Builds the seen keys' accessor. */
    public SeenKeys build() {
      return new SeenKeys(this);
    }
  }
}
