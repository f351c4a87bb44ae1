package dev.pipeline.quality;

import dev.pipeline.PipelineClock;
import dev.pipeline.quality.drift.Baseline;
import dev.pipeline.quality.drift.ProfileJson;
import dev.pipeline.quality.drift.WindowProfile;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * Drift baselines kept in the store: the {@code drift_baselines} table pipeline-jdbc's migrations
 * create (schema version 10 or later). A profile pinned from a run you trust is saved under a name
 * and loaded when the next run starts, so its drift monitor compares with it:
 *
 * <pre>{@code
 * BaselineTable baselines = BaselineTable.on(dataSource).build();
 * // at the end of a good run
 * baselines.pin("listings", "june", profiler.windows().stream().reduce(WindowProfile::plus).get(), "ana");
 * // when the next run starts
 * DriftMonitor monitor = DriftMonitor.builder("listings")
 *     .baseline(baselines.baseline("listings", "extraction", "june", Baseline.rolling(12)))
 *     .build();
 * }</pre>
 *
 * <p>A profile is kept as JSON text ({@link ProfileJson}, at most {@value ProfileJson#MAX_CHARS}
 * characters), never as Java serialization; one read back is checked whole, and a row that does not
 * hold a valid profile is refused with the reason. Values are always bound; the schema and prefix
 * are checked identifiers.
 *
 * <p>Thread-safe: each call takes a connection of its own.
 */
public final class BaselineTable {
  /** The longest pipeline, stage or baseline name. */
  public static final int MAX_NAME_CHARS = 200;

  private static final int SCHEMA_VERSION = 10;

  private final DataSource dataSource;
  private final String table;
  private final PipelineClock clock;

  private BaselineTable(Builder b) {
    this.dataSource = b.dataSource;
    this.table = TableNames.qualified(b.schema, b.prefix, "drift_baselines");
    this.clock = b.clock;
  }

  /**
   * Starts a table on {@code dataSource}, the database of a {@code JdbcPipelineStore} (whose
   * migrations created the table).
   *
   * @throws NullPointerException if {@code dataSource} is null
   */
  public static Builder on(DataSource dataSource) {
    return new Builder(Objects.requireNonNull(dataSource, "dataSource cannot be null"));
  }

  /**
   * Keeps {@code profile} as baseline {@code name} of its stage in {@code pipeline}, replacing one
   * kept under that name before.
   *
   * @param pinnedBy who pinned it, kept with it
   * @throws IllegalArgumentException if a name is blank or over {@value #MAX_NAME_CHARS}
   *     characters, or the profile is too large to keep
   * @throws IllegalStateException if the database cannot be written
   */
  public void pin(String pipeline, String name, WindowProfile profile, String pinnedBy) {
    Objects.requireNonNull(profile, "profile cannot be null");
    checkName("pipeline", pipeline);
    checkName("name", name);
    checkName("pinnedBy", pinnedBy);
    checkName("stage", profile.stage());
    String json = ProfileJson.write(profile);
    OffsetDateTime now = OffsetDateTime.ofInstant(clock.now(), ZoneOffset.UTC);
    String what = "pin baseline '" + name + "' of stage '" + profile.stage() + "'";
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        int updated;
        try (PreparedStatement s =
            c.prepareStatement(
                "UPDATE "
                    + table
                    + " SET window_start = ?, window_end = ?, records = ?, profile = ?,"
                    + " pinned_by = ?, pinned_at = ? WHERE pipeline = ? AND stage_name = ? AND"
                    + " baseline_name = ?")) {
          bind(s, pipeline, name, profile, json, pinnedBy, now);
          updated = s.executeUpdate();
        }
        if (updated == 0) {
          try (PreparedStatement s =
              c.prepareStatement(
                  "INSERT INTO "
                      + table
                      + " (window_start, window_end, records, profile, pinned_by, pinned_at,"
                      + " pipeline, stage_name, baseline_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
                      + " ?)")) {
            bind(s, pipeline, name, profile, json, pinnedBy, now);
            s.executeUpdate();
          }
        }
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw TableNames.failure(what, "drift_baselines", SCHEMA_VERSION, e);
    }
  }

  /** Binds the profile's columns, then the row's key (pipeline, stage, name). */
  private static void bind(
      PreparedStatement s,
      String pipeline,
      String name,
      WindowProfile p,
      String json,
      String by,
      OffsetDateTime now)
      throws SQLException {
    s.setObject(1, OffsetDateTime.ofInstant(p.start(), ZoneOffset.UTC));
    s.setObject(2, OffsetDateTime.ofInstant(p.end(), ZoneOffset.UTC));
    s.setLong(3, p.records());
    s.setString(4, json);
    s.setString(5, by);
    s.setObject(6, now);
    s.setString(7, pipeline);
    s.setString(8, p.stage());
    s.setString(9, name);
  }

  /**
   * The baseline kept as {@code name} for {@code stage} of {@code pipeline}, if there is one.
   *
   * @throws IllegalArgumentException if the row does not hold a valid profile, naming it
   * @throws IllegalStateException if the database cannot be read
   */
  public Optional<WindowProfile> load(String pipeline, String stage, String name) {
    checkName("pipeline", pipeline);
    checkName("stage", stage);
    checkName("name", name);
    String json;
    try (Connection c = dataSource.getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT profile FROM "
                    + table
                    + " WHERE pipeline = ? AND stage_name = ? AND baseline_name = ?")) {
      s.setString(1, pipeline);
      s.setString(2, stage);
      s.setString(3, name);
      try (ResultSet rs = s.executeQuery()) {
        json = rs.next() ? rs.getString(1) : null;
      }
    } catch (SQLException e) {
      throw TableNames.failure(
          "load baseline '" + name + "' of stage '" + stage + "'",
          "drift_baselines",
          SCHEMA_VERSION,
          e);
    }
    if (json == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(ProfileJson.read(json));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "baseline '"
              + name
              + "' of stage '"
              + stage
              + "' in drift_baselines cannot be used ("
              + e.getMessage()
              + "); pin it again from a run",
          e);
    }
  }

  /**
   * The stored baseline {@code name} of {@code stage}, pinned, or {@code otherwise} if none is
   * stored yet (the first run).
   *
   * @throws IllegalArgumentException if the row does not hold a valid profile
   * @throws IllegalStateException if the database cannot be read
   */
  public Baseline baseline(String pipeline, String stage, String name, Baseline otherwise) {
    Objects.requireNonNull(otherwise, "otherwise cannot be null");
    return load(pipeline, stage, name).map(Baseline::pinned).orElse(otherwise);
  }

  private static void checkName(String what, @Nullable String value) {
    Objects.requireNonNull(value, what + " cannot be null");
    if (value.isBlank() || value.length() > MAX_NAME_CHARS) {
      throw new IllegalArgumentException(
          what
              + " must be 1 to "
              + MAX_NAME_CHARS
              + " characters, not blank; was "
              + value.length()
              + " characters");
    }
  }

  /** Configures a {@link BaselineTable}. Not thread-safe. */
  public static final class Builder extends TableBuilder<Builder> {
    private Builder(DataSource dataSource) {
      super(dataSource);
    }

    /** Builds the table's accessor. */
    public BaselineTable build() {
      return new BaselineTable(this);
    }
  }
}
