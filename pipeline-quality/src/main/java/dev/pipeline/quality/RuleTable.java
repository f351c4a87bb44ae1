package dev.pipeline.quality;

import dev.pipeline.PipelineClock;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The rules of {@code validation_rules}, the table pipeline-jdbc's migrations create (schema
 * version 6 or later): read by {@link QualityGate}s, which register their rules of code in it and
 * poll it for changes, and written by operators, in SQL or through {@link #save}. Every version of
 * a rule is kept in {@code validation_rule_history}.
 *
 * <p>An operator changes a rule in SQL and raises its version:
 *
 * <pre>{@code
 * UPDATE validation_rules SET validation_expression = '[0, 500000]', version = version + 1,
 *        changed_by = 'ana', changed_at = CURRENT_TIMESTAMP
 *  WHERE pipeline = 'listings' AND stage_name = 'validation' AND rule_name = 'price-range';
 * }</pre>
 *
 * (an edit that leaves the version alone is seen too: the first gate to see it raises the version
 * itself). Values are always bound; the schema and prefix are checked identifiers.
 *
 * <p>Thread-safe: each call takes a connection of its own.
 */
public final class RuleTable {
  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,30}");

  /** The longest parameters text read (the column's width in the schema pipeline-jdbc makes). */
  static final int MAX_PARAMETERS_CHARS = 4_000;

  // the texts an operator may write unbounded (validation_expression is TEXT, and a hand-made or
  // altered table may widen parameters) are measured in SQL and read only if they fit, so that an
  // oversized row costs the gate a refusal, not its memory
  private static final String COLUMNS =
      "rule_id, pipeline, stage_name, rule_name, rule_type, field_path,"
          + " CHAR_LENGTH(validation_expression) AS expression_chars,"
          + bounded("validation_expression", Rule.MAX_EXPRESSION_CHARS)
          + ", CHAR_LENGTH(parameters) AS parameters_chars,"
          + bounded("parameters", MAX_PARAMETERS_CHARS)
          + ", severity, action_on_failure, mostly, enabled, version, changed_by, changed_at";

  private final DataSource dataSource;
  private final String rules;
  private final String history;
  private final PipelineClock clock;

  /** A row as read, with the rule it holds or why it holds none. */
  record Row(
      long id,
      String pipeline,
      String stage,
      String name,
      @Nullable Rule rule,
      @Nullable String problem,
      long version,
      String changedBy,
      Instant changedAt) {

    StoredRule stored() {
      return new StoredRule(
          id, pipeline, stage, Objects.requireNonNull(rule), version, changedBy, changedAt);
    }
  }

  private RuleTable(Builder b) {
    this.dataSource = b.dataSource;
    String qualifier = (b.schema == null ? "" : b.schema + ".") + b.prefix;
    this.rules = qualifier + "validation_rules";
    this.history = qualifier + "validation_rule_history";
    this.clock = b.clock;
  }

  /**
   * Starts a table on {@code dataSource}, the database of a {@code JdbcPipelineStore} (whose
   * migrations created the tables).
   *
   * @throws NullPointerException if {@code dataSource} is null
   */
  public static Builder on(DataSource dataSource) {
    return new Builder(Objects.requireNonNull(dataSource, "dataSource cannot be null"));
  }

  /**
   * The rules of a stage, as the table holds them now.
   *
   * @throws InvalidRuleException if a row does not hold a valid rule (an unknown type, severity or
   *     action, a malformed parameter)
   * @throws IllegalStateException if the database cannot be read
   */
  public List<StoredRule> rules(String pipeline, String stage) {
    List<StoredRule> all = new ArrayList<>();
    for (Row row : rows(pipeline, stage)) {
      if (row.problem() != null) {
        throw new InvalidRuleException(row.name(), row.problem());
      }
      all.add(row.stored());
    }
    return all;
  }

  /**
   * Every version of a rule, oldest first.
   *
   * @throws IllegalStateException if the database cannot be read
   */
  public List<StoredRule> history(String pipeline, String stage, String rule) {
    List<StoredRule> all = new ArrayList<>();
    for (Row row :
        select(
            "read the history of rule '" + rule + "'",
            "SELECT "
                + COLUMNS
                + " FROM "
                + history
                + " WHERE pipeline = ? AND stage_name = ? AND rule_name = ? ORDER BY version",
            pipeline,
            stage,
            rule)) {
      if (row.rule() != null) {
        all.add(row.stored());
      }
    }
    return all;
  }

  /**
   * Adds a rule to a stage, or changes it: its version goes up by one, and the new version is kept
   * in the history. A gate polling the table picks it up.
   *
   * @param changedBy who made the change, kept with it
   * @return the rule as stored
   * @throws IllegalStateException if the database cannot be written
   */
  public StoredRule save(String pipeline, String stage, Rule rule, String changedBy) {
    Objects.requireNonNull(rule, "rule cannot be null");
    Objects.requireNonNull(changedBy, "changedBy cannot be null");
    return inTransaction(
        "save rule '" + rule.name() + "'",
        c -> {
          Row existing = find(c, pipeline, stage, rule.name());
          if (existing == null) {
            insert(c, pipeline, stage, rule, changedBy, null);
          } else {
            update(c, existing.id(), rule, changedBy, null);
          }
          Row saved = Objects.requireNonNull(find(c, pipeline, stage, rule.name()));
          keepHistory(c, saved.id(), saved.version());
          return saved.stored();
        });
  }

  /**
   * Registers rules declared in code: a rule the table lacks is inserted; one whose code changed
   * since it was registered is updated from the code; one an operator changed while the code stayed
   * the same keeps the operator's version.
   *
   * @return every rule of the stage, code's and the table's own
   */
  List<Row> register(String pipeline, String stage, List<Rule> declared) {
    inTransaction(
        "register the rules of stage '" + stage + "'",
        c -> {
          for (Rule rule : declared) {
            String hash = RuleRows.hash(rule);
            Row existing = find(c, pipeline, stage, rule.name());
            if (existing == null) {
              insert(c, pipeline, stage, rule, "code", hash);
            } else if (!hash.equals(codeHash(c, existing.id()))) {
              update(c, existing.id(), rule, "code", hash);
            } else {
              continue;
            }
            Row now = Objects.requireNonNull(find(c, pipeline, stage, rule.name()));
            keepHistory(c, now.id(), now.version());
          }
          return declared.size();
        });
    return rows(pipeline, stage);
  }

  /** Every row of a stage, each with its rule or its problem. */
  List<Row> rows(String pipeline, String stage) {
    return select(
        "read the rules of stage '" + stage + "'",
        "SELECT "
            + COLUMNS
            + " FROM "
            + rules
            + " WHERE pipeline = ? AND stage_name = ? ORDER BY rule_id",
        pipeline,
        stage);
  }

  private List<Row> select(String what, String sql, String... args) {
    List<Row> all = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        s.setString(i + 1, args[i]);
      }
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          all.add(row(rs));
        }
      }
    } catch (SQLException e) {
      throw failure(what, e);
    }
    return all;
  }

  /** Work in one transaction of its own. */
  @FunctionalInterface
  private interface Work<R> {
    R run(Connection c) throws SQLException;
  }

  private <R> R inTransaction(String what, Work<R> work) {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        R result = work.run(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  /**
   * Raises the version of a row edited in SQL without raising it, and keeps the new version in the
   * history; the history of a version raised in SQL is kept too.
   *
   * @param bump whether to raise the version (false: only keep the history of {@code version})
   */
  void noteEdit(long id, long version, boolean bump) {
    inTransaction(
        "keep the history of rule " + id,
        c -> {
          long kept = version;
          if (bump) {
            try (PreparedStatement s =
                c.prepareStatement(
                    "UPDATE "
                        + rules
                        + " SET version = version + 1, changed_at = ? WHERE rule_id = ? AND"
                        + " version = ?")) {
              s.setObject(1, OffsetDateTime.ofInstant(clock.now(), ZoneOffset.UTC));
              s.setLong(2, id);
              s.setLong(3, version);
              if (s.executeUpdate() == 1) {
                kept = version + 1;
              }
            }
          }
          keepHistory(c, id, kept);
          return kept;
        });
  }

  private @Nullable Row find(Connection c, String pipeline, String stage, String name)
      throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT "
                + COLUMNS
                + " FROM "
                + rules
                + " WHERE pipeline = ? AND stage_name = ? AND rule_name = ?")) {
      s.setString(1, pipeline);
      s.setString(2, stage);
      s.setString(3, name);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? row(rs) : null;
      }
    }
  }

  private @Nullable String codeHash(Connection c, long id) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement("SELECT code_hash FROM " + rules + " WHERE rule_id = ?")) {
      s.setLong(1, id);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private void insert(
      Connection c, String pipeline, String stage, Rule rule, String by, @Nullable String hash)
      throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "INSERT INTO "
                + rules
                + " (pipeline, stage_name, rule_name, rule_type, field_path, validation_expression,"
                + " parameters, severity, action_on_failure, mostly, enabled, version, changed_by,"
                + " changed_at, code_hash, created_at, updated_at)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)")) {
      OffsetDateTime now = OffsetDateTime.ofInstant(clock.now(), ZoneOffset.UTC);
      s.setString(1, pipeline);
      s.setString(2, stage);
      s.setString(3, rule.name());
      int i = bindRule(s, 4, rule);
      s.setString(i++, by);
      s.setObject(i++, now);
      s.setString(i++, hash);
      s.setObject(i++, now);
      s.setObject(i, now);
      s.executeUpdate();
    }
  }

  private void update(Connection c, long id, Rule rule, String by, @Nullable String hash)
      throws SQLException {
    boolean fromCode = hash != null;
    try (PreparedStatement s =
        c.prepareStatement(
            "UPDATE "
                + rules
                + " SET rule_type = ?, field_path = ?, validation_expression = ?, parameters = ?,"
                + " severity = ?, action_on_failure = ?, mostly = ?, enabled = ?, version ="
                + " version + 1, changed_by = ?, changed_at = ?, updated_at = ?"
                + (fromCode ? ", code_hash = ?" : "")
                + " WHERE rule_id = ?")) {
      OffsetDateTime now = OffsetDateTime.ofInstant(clock.now(), ZoneOffset.UTC);
      int i = bindRule(s, 1, rule);
      s.setString(i++, by);
      s.setObject(i++, now);
      s.setObject(i++, now);
      if (fromCode) {
        s.setString(i++, hash);
      }
      s.setLong(i, id);
      s.executeUpdate();
    }
  }

  private static int bindRule(PreparedStatement s, int from, Rule rule) throws SQLException {
    int i = from;
    s.setString(i++, rule.type().name());
    s.setString(i++, rule.field());
    s.setString(i++, rule.expression());
    s.setString(i++, RuleRows.parameters(rule.parameters()));
    s.setString(i++, rule.severity().name());
    s.setString(i++, rule.action().name());
    s.setDouble(i++, rule.mostly());
    s.setBoolean(i++, rule.enabled());
    return i;
  }

  /** Copies a row's version to the history unless it is there already. */
  private void keepHistory(Connection c, long id, long version) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "INSERT INTO "
                + history
                + " (rule_id, version, pipeline, stage_name, rule_name, rule_type, field_path,"
                + " validation_expression, parameters, severity, action_on_failure, mostly,"
                + " enabled, changed_by, changed_at)"
                + " SELECT rule_id, version, pipeline, stage_name, rule_name, rule_type,"
                + " field_path, validation_expression, parameters, severity, action_on_failure,"
                + " mostly, enabled, changed_by, changed_at FROM "
                + rules
                + " r WHERE r.rule_id = ? AND r.version = ?"
                // an oversized version, refused, does not fit the history's column
                + " AND CHAR_LENGTH(r.parameters) <= "
                + MAX_PARAMETERS_CHARS
                + " AND NOT EXISTS (SELECT 1 FROM "
                + history
                + " h WHERE h.rule_id = r.rule_id AND h.version = r.version)")) {
      s.setLong(1, id);
      s.setLong(2, version);
      s.executeUpdate();
    }
  }

  private static Row row(ResultSet rs) throws SQLException {
    long id = rs.getLong("rule_id");
    String pipeline = rs.getString("pipeline");
    String stage = rs.getString("stage_name");
    String name = rs.getString("rule_name");
    long version = rs.getLong("version");
    String by = rs.getString("changed_by");
    OffsetDateTime at = rs.getObject("changed_at", OffsetDateTime.class);
    Instant changedAt = at == null ? Instant.EPOCH : at.toInstant();
    Rule rule = null;
    String problem = null;
    try {
      tooLong("validation_expression", rs.getLong("expression_chars"), Rule.MAX_EXPRESSION_CHARS);
      tooLong("parameters", rs.getLong("parameters_chars"), MAX_PARAMETERS_CHARS);
      rule =
          new Rule(
              name,
              RuleType.valueOf(
                  rs.getString("rule_type").strip().toUpperCase(java.util.Locale.ROOT)),
              rs.getString("field_path"),
              rs.getString("validation_expression"),
              RuleRows.parameters(rs.getString("parameters")),
              Severity.valueOf(rs.getString("severity").strip().toUpperCase(java.util.Locale.ROOT)),
              Action.valueOf(
                  rs.getString("action_on_failure").strip().toUpperCase(java.util.Locale.ROOT)),
              rs.getDouble("mostly"),
              rs.getBoolean("enabled"));
    } catch (IllegalArgumentException e) {
      problem =
          "rule '"
              + QualityText.bounded(name, 80)
              + "' (row "
              + id
              + " of validation_rules) is refused: "
              + QualityText.bounded(e.getMessage(), 300)
              + "; rule_type is one of "
              + java.util.Arrays.toString(RuleType.values())
              + ", severity one of "
              + java.util.Arrays.toString(Severity.values())
              + ", action_on_failure one of "
              + java.util.Arrays.toString(Action.values());
    }
    return new Row(id, pipeline, stage, name, rule, problem, version, by, changedAt);
  }

  /** The column's text, or NULL if it is longer than {@code max}: never read whole. */
  private static String bounded(String column, int max) {
    return " CASE WHEN CHAR_LENGTH("
        + column
        + ") <= "
        + max
        + " THEN "
        + column
        + " END AS "
        + column;
  }

  private static void tooLong(String column, long chars, int max) {
    if (chars > max) {
      throw new IllegalArgumentException(
          String.format(
              java.util.Locale.ROOT,
              "%s takes %,d characters, more than %,d: shorten it",
              column,
              chars,
              max));
    }
  }

  private static IllegalStateException failure(String what, SQLException e) {
    return new IllegalStateException(
        "could not "
            + what
            + " in validation_rules: "
            + QualityText.bounded(e.getMessage(), 300)
            + " (SQL state "
            + e.getSQLState()
            + "); does the database hold pipeline-jdbc's schema, version 6 or later?",
        e);
  }

  /** Configures a {@link RuleTable}. Not thread-safe. */
  public static final class Builder {
    private final DataSource dataSource;
    private @Nullable String schema;
    private String prefix = "";
    private PipelineClock clock = PipelineClock.system();

    private Builder(DataSource dataSource) {
      this.dataSource = dataSource;
    }

    /**
     * The schema of the tables, as given to the store; the connection's own unless set.
     *
     * @throws IllegalArgumentException unless it is [a-z_][a-z0-9_]{0,30}
     */
    public Builder schema(String schema) {
      this.schema = identifier("schema", schema);
      return this;
    }

    /**
     * The prefix of the table names, as given to the store.
     *
     * @throws IllegalArgumentException unless it is empty or [a-z_][a-z0-9_]{0,30}
     */
    public Builder tablePrefix(String prefix) {
      this.prefix = prefix.isEmpty() ? "" : identifier("tablePrefix", prefix);
      return this;
    }

    /** The clock of the changed_at times; the system clock unless set. */
    public Builder clock(PipelineClock clock) {
      this.clock = Objects.requireNonNull(clock, "clock cannot be null");
      return this;
    }

    /** Builds the table's accessor. */
    public RuleTable build() {
      return new RuleTable(this);
    }

    private static String identifier(String what, String value) {
      Objects.requireNonNull(value, what + " cannot be null");
      if (!IDENTIFIER.matcher(value).matches()) {
        throw new IllegalArgumentException(
            what
                + " '"
                + QualityText.bounded(value, 40)
                + "' is not a valid identifier: use [a-z_][a-z0-9_]{0,30}, as for the store");
      }
      return value;
    }
  }
}
