package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.MAX_NAME;

import com.zaxxer.hikari.HikariDataSource;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.StorableText;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.TemplateEngine;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a {@link JdbcPipelineStore}: where the database is (exactly one of {@link
 * #dataSource(DataSource)}, {@link #h2File(Path)} and {@link #jdbcUrl(String, String, String)}),
 * which schema and prefix, the worker's id and lease, retention. {@link #build()} copies the
 * settings, so the builder can be reused.
 *
 * <p>Not thread-safe.
 */
public final class JdbcPipelineStoreBuilder {
  // the store's logger: these lines are about the store being opened
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  /** The longest retention of payloads, completed records and logs. */
  public static final Duration MAX_RETENTION = Duration.ofDays(3650);

  /** The longest {@link #outageTolerance(Duration)}. */
  public static final Duration MAX_OUTAGE_TOLERANCE = Duration.ofDays(7);

  private static final Duration MAX_PURGE_EVERY = Duration.ofDays(7);

  private @Nullable DataSource dataSource;
  private @Nullable JdbcUrl url;
  private final Set<String> allowedUrlSettings = new TreeSet<>();
  private @Nullable String user;
  private @Nullable String password;
  private @Nullable String schema;
  private boolean schemaSet;
  private @Nullable String prefix;
  private @Nullable String workerId;
  private @Nullable Duration lease;
  private @Nullable Duration retainPayloads;
  private @Nullable Duration retainCompleted;
  private @Nullable Duration retainLogs = Duration.ofDays(30);
  private boolean retainLogsSet;
  private @Nullable Duration retainSeenKeys;
  private int purgeBatchSize = 1_000;
  private @Nullable Duration purgeEvery;
  private @Nullable Duration outageTolerance;
  private int poolSize = 10;
  private boolean poolSizeSet;
  private boolean migrate = true;
  private boolean migrateSet;
  private boolean maintainStatistics = true;
  private boolean maintainStatisticsSet;
  private boolean fullLedger;
  private boolean fullLedgerSet;
  private boolean rowsFromIngest;
  private boolean rowsFromIngestSet;

  JdbcPipelineStoreBuilder() {}

  /**
   * Uses the caller's data source (a pool, ideally). The store keeps one of its connections for its
   * heartbeat; the caller closes the data source after the store. The connections need no session
   * settings: on PostgreSQL, the batch ledger's lookups keep their plans on the keys under generic
   * plans too, the few statements whose plan depends on a value (retention's time cut-offs, the
   * audit trail) are planned with their values in their own transactions, and the record rows'
   * writes rely on the table's statistics, which the store keeps up to date ({@link
   * #maintainStatistics}; turned off, on the database's own {@code ANALYZE}).
   *
   * @throws NullPointerException if null
   * @throws IllegalStateException if a database was already set
   */
  public JdbcPipelineStoreBuilder dataSource(DataSource dataSource) {
    Objects.requireNonNull(dataSource, "dataSource cannot be null");
    onlyOneDatabase();
    this.dataSource = dataSource;
    return this;
  }

  /**
   * Uses an embedded H2 database in a file (created if absent; {@code .mv.db} is added), with a
   * connection pool the store owns and closes. Commits are written to the file before they return,
   * so killing the JVM loses nothing committed. H2 does not force them to the disk (no fsync per
   * commit): a crash of the operating system or a power cut can lose the last commits. Where that
   * matters, use PostgreSQL.
   *
   * @throws NullPointerException if null
   * @throws IllegalArgumentException if the path contains ';'
   * @throws IllegalStateException if a database was already set
   */
  public JdbcPipelineStoreBuilder h2File(Path file) {
    Objects.requireNonNull(file, "file cannot be null");
    onlyOneDatabase();
    this.url = JdbcUrl.check(Connections.h2FileUrl(file), Set.of());
    return this;
  }

  /**
   * Uses a JDBC URL, with a HikariCP pool the store owns and closes. The URL is checked at once,
   * read as its driver reads it, so that a URL from outside cannot run code, load a class or write
   * a file:
   *
   * <ul>
   *   <li>only {@code jdbc:h2:} and {@code jdbc:postgresql:} URLs (for another driver, pass a
   *       {@link #dataSource(DataSource)});
   *   <li>H2 settings (names in any case, {@code \} escapes read as H2 reads them) only from: USER,
   *       PASSWORD, CIPHER, DB_CLOSE_DELAY, DB_CLOSE_ON_EXIT, WRITE_DELAY, MODE, DATABASE_TO_UPPER,
   *       DATABASE_TO_LOWER, CASE_INSENSITIVE_IDENTIFIERS, IFEXISTS, FORBID_CREATION, LOCK_TIMEOUT,
   *       CACHE_SIZE, MAX_COMPACT_TIME. Refused among others: INIT (runs SQL and Java code),
   *       AUTO_SERVER (opens a port other hosts reach), the settings that name classes or print
   *       statements;
   *   <li>PostgreSQL settings (names as pgjdbc spells them) only from: user, password, ssl,
   *       sslmode, sslrootcert, sslcert, sslkey, sslpassword, sslNegotiation, sslResponseTimeout,
   *       channelBinding, requireAuth, gssEncMode, ApplicationName, connectTimeout, socketTimeout,
   *       loginTimeout, cancelSignalTimeout, tcpKeepAlive, tcpNoDelay, targetServerType,
   *       loadBalanceHosts, hostRecheckSeconds, currentSchema, prepareThreshold,
   *       preparedStatementCacheQueries, preparedStatementCacheSizeMiB, reWriteBatchedInserts,
   *       defaultRowFetchSize, binaryTransfer. Refused among others: the settings that name a class
   *       (socketFactory, sslfactory, sslhostnameverifier, sslpasswordcallback,
   *       authenticationPluginClassName, ...), loggerFile, loggerLevel, service, options;
   *   <li>no {@code user:password@} before the host.
   * </ul>
   *
   * <p>A refused setting your own code chose can be let through with {@link
   * #allowUrlSetting(String)}. Passwords (PASSWORD, password, sslpassword) are taken out of the URL
   * and given to the driver as connection properties; every message, log line and {@code
   * toString()} of the store shows the URL with them masked.
   *
   * @param user the user, or null if the URL carries it
   * @param password the password, or null
   * @throws NullPointerException if the URL is null
   * @throws IllegalArgumentException if the URL is refused (the message names the setting, why, and
   *     how to proceed), or the password is given both in the URL and as an argument
   * @throws IllegalStateException if a database was already set
   */
  public JdbcPipelineStoreBuilder jdbcUrl(
      String url, @Nullable String user, @Nullable String password) {
    Objects.requireNonNull(url, "url cannot be null");
    JdbcUrl checked = JdbcUrl.check(url, allowedUrlSettings);
    if (password != null && checked.hasPassword()) {
      throw new IllegalArgumentException(
          "the password is given twice, in the URL and as the argument of jdbcUrl(url, user,"
              + " password); give it once. URL: "
              + Names.quote(checked.toString()));
    }
    onlyOneDatabase();
    this.url = checked;
    this.user = user;
    this.password = password;
    return this;
  }

  /**
   * Lets a URL setting through that {@link #jdbcUrl(String, String, String)} refuses, e.g. {@code
   * socketFactory} for a cloud provider's connector, or H2's {@code AUTO_SERVER}. Only for a
   * setting your own code chose: a setting such as INIT or socketFactory runs code or loads a
   * class, so a URL that comes from outside (a command line, a configuration file others write)
   * must never carry one. Call it before {@code jdbcUrl(...)}, once per setting; H2 compares the
   * name in upper case, PostgreSQL as written.
   *
   * @throws NullPointerException if null
   * @throws IllegalArgumentException if the name is blank or holds one of {@code = ; & ? \}
   * @throws IllegalStateException if the database was already set, or this setting was already let
   *     through
   */
  public JdbcPipelineStoreBuilder allowUrlSetting(String name) {
    Objects.requireNonNull(name, "name cannot be null");
    if (name.isBlank() || name.chars().anyMatch(c -> "=;&?\\".indexOf(c) >= 0)) {
      throw new IllegalArgumentException(
          "allowUrlSetting takes the name of one setting, e.g. \"socketFactory\", was "
              + Names.quote(name));
    }
    if (dataSource != null || url != null) {
      throw new IllegalStateException(
          "allowUrlSetting(" + Names.quote(name) + ") must come before jdbcUrl(...)");
    }
    if (!allowedUrlSettings.add(name)) {
      throw new IllegalStateException(
          "allowUrlSetting(" + Names.quote(name) + ") was already called");
    }
    return this;
  }

  private void onlyOneDatabase() {
    if (dataSource != null || url != null) {
      throw new IllegalStateException(
          "the database was already set; use one of dataSource(...), h2File(...),"
              + " jdbcUrl(...)");
    }
  }

  /**
   * Puts the tables in this schema, created if absent; unset, the connection's current schema.
   *
   * @throws IllegalArgumentException unless the name matches [a-z_][a-z0-9_]{0,30} and is not an
   *     SQL reserved word
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder schema(String schema) {
    once(schemaSet, "schema");
    this.schema = Names.checkSchema(schema);
    schemaSet = true;
    return this;
  }

  /**
   * Prefixes the table names (e.g. "etl_" gives etl_pipeline_status, etl_retry_queue); none unless
   * set.
   *
   * @throws IllegalArgumentException unless empty or matching [a-z_][a-z0-9_]{0,30}
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder tablePrefix(String prefix) {
    once(this.prefix != null, "tablePrefix");
    this.prefix = Names.checkPrefix(prefix);
    return this;
  }

  /**
   * Sets this worker's id, the lease owner of the records it holds; unique among the workers
   * sharing a database (the default, host-pid-random, is).
   *
   * @throws IllegalArgumentException if blank, longer than 200 characters, or holding a control
   *     character (NUL, a line break, ESC, a bidi control: the id is written in log lines and
   *     stored as each leased record's owner) or an unpaired surrogate (PostgreSQL cannot store it)
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder workerId(String workerId) {
    Objects.requireNonNull(workerId, "workerId cannot be null");
    once(this.workerId != null, "workerId");
    if (workerId.isBlank() || workerId.length() > MAX_NAME) {
      throw new IllegalArgumentException(
          "workerId must be 1 to " + MAX_NAME + " characters, not blank: " + Names.quote(workerId));
    }
    int control = ErrorText.firstControl(workerId);
    String problem =
        control >= 0
            ? String.format(
                Locale.ROOT,
                "holds the control character U+%04X at position %d",
                (int) workerId.charAt(control),
                control)
            : StorableText.idProblem(workerId);
    if (problem != null) {
      throw new IllegalArgumentException(
          "workerId "
              + Names.quote(workerId)
              + " "
              + problem
              + "; use an id without NUL, line breaks, escapes, other control characters or"
              + " unpaired surrogates");
    }
    this.workerId = workerId;
    return this;
  }

  /**
   * Sets how long a worker's hold on its records lasts without renewal (30 s unless set): the
   * longest a dead worker's records wait before another worker takes them over. The heartbeat
   * renews every third of it.
   *
   * @throws IllegalArgumentException if shorter than 100 ms or longer than a day
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder leaseDuration(Duration lease) {
    Objects.requireNonNull(lease, "lease cannot be null");
    once(this.lease != null, "leaseDuration");
    if (lease.compareTo(Duration.ofMillis(100)) < 0 || lease.compareTo(Duration.ofDays(1)) > 0) {
      throw new IllegalArgumentException(
          "leaseDuration must be between 100ms and 1 day, was " + lease);
    }
    this.lease = lease;
    return this;
  }

  /**
   * Keeps the payloads of published and filtered records this long after completion ({@link
   * Duration#ZERO}, the default, clears them as the record completes). Dead letters always keep
   * theirs.
   *
   * @throws IllegalArgumentException if negative or longer than {@link #MAX_RETENTION}
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder retainPayloads(Duration age) {
    once(retainPayloads != null, "retainPayloads");
    this.retainPayloads = within(age, "retainPayloads", MAX_RETENTION, "10 years");
    return this;
  }

  /**
   * Deletes published and filtered records (with their errors) this long after completion, on
   * {@link JdbcPipelineStore#purge()}; kept forever unless set. Once deleted, their ids can be
   * ingested again. Their lineage ({@code record_traces}) goes too, once its last event is this
   * old; the lineage of dead letters and records in flight stays while they do. So do merge groups
   * ({@code pipeline_merge_groups} and their parts) completed this long ago, once none of their
   * children is stored unfinished (a dead letter sent back to the merge stage needs its group).
   *
   * @throws IllegalArgumentException if negative or longer than {@link #MAX_RETENTION}; to keep
   *     them forever, leave it unset
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder retainCompleted(Duration age) {
    once(retainCompleted != null, "retainCompleted");
    this.retainCompleted = within(age, "retainCompleted", MAX_RETENTION, "10 years");
    return this;
  }

  /**
   * Deletes processing logs and metric snapshots older than this on {@link
   * JdbcPipelineStore#purge()}; 30 days unless set.
   *
   * @throws IllegalArgumentException if negative or longer than {@link #MAX_RETENTION}
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder retainLogs(Duration age) {
    once(retainLogsSet, "retainLogs");
    this.retainLogs = within(age, "retainLogs", MAX_RETENTION, "10 years");
    retainLogsSet = true;
    return this;
  }

  /**
   * Deletes the keys a uniqueness rule checked against the store has seen ({@code
   * quality_seen_keys}, pipeline-quality's {@code UNIQUE} rules with scope {@code store}) this long
   * after they were first seen, on {@link JdbcPipelineStore#purge()}; kept forever unless set. A
   * key purged is new again: a record carrying it later passes the rule (a worker's cache of recent
   * keys may still remember it until it is evicted).
   *
   * @throws IllegalArgumentException if negative or longer than {@link #MAX_RETENTION}; to keep
   *     them forever, leave it unset
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder retainSeenKeys(Duration age) {
    once(retainSeenKeys != null, "retainSeenKeys");
    this.retainSeenKeys = within(age, "retainSeenKeys", MAX_RETENTION, "10 years");
    return this;
  }

  /**
   * Sets how many rows one purge statement removes (1000 unless set).
   *
   * @throws IllegalArgumentException if not between 1 and 100,000
   */
  public JdbcPipelineStoreBuilder purgeBatchSize(int rows) {
    if (rows < 1 || rows > 100_000) {
      throw new IllegalArgumentException(
          "purgeBatchSize must be between 1 and 100000, was " + rows);
    }
    this.purgeBatchSize = rows;
    return this;
  }

  /**
   * Runs {@link JdbcPipelineStore#purge()} this often on a thread of the store; never unless set
   * (call it from your own scheduler then).
   *
   * @throws IllegalArgumentException if shorter than a second or longer than 7 days
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder purgeEvery(Duration period) {
    Objects.requireNonNull(period, "period cannot be null");
    once(purgeEvery != null, "purgeEvery");
    if (period.compareTo(Duration.ofSeconds(1)) < 0 || period.compareTo(MAX_PURGE_EVERY) > 0) {
      throw new IllegalArgumentException(
          "purgeEvery must be between 1s and 7 days (PT168H), was " + period);
    }
    this.purgeEvery = period;
    return this;
  }

  /**
   * Sets how long an operation retries transient database errors (lost connection, restart,
   * deadlock) before it fails with {@link JdbcStoreException}; 5 minutes unless set. The pipeline
   * pauses meanwhile.
   *
   * @throws IllegalArgumentException if negative or longer than {@link #MAX_OUTAGE_TOLERANCE}
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder outageTolerance(Duration tolerance) {
    once(outageTolerance != null, "outageTolerance");
    this.outageTolerance = within(tolerance, "outageTolerance", MAX_OUTAGE_TOLERANCE, "7 days");
    return this;
  }

  /**
   * Sets the size of the pool the store makes for {@link #h2File} and {@link #jdbcUrl} (10 unless
   * set); the heartbeat has a connection of its own besides.
   *
   * @throws IllegalArgumentException if not between 1 and 1000
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder poolSize(int connections) {
    once(poolSizeSet, "poolSize");
    if (connections < 1 || connections > 1000) {
      throw new IllegalArgumentException("poolSize must be between 1 and 1000, was " + connections);
    }
    this.poolSize = connections;
    poolSizeSet = true;
    return this;
  }

  /**
   * Whether {@link #build()} creates and upgrades the schema (true unless set). False for schemas a
   * DBA creates from the scripts in {@code dev/pipeline/jdbc/migrations/}: the store then only
   * checks the version and fails if it is not the one it needs.
   *
   * @throws IllegalStateException if set twice
   */
  public JdbcPipelineStoreBuilder migrateSchema(boolean migrate) {
    once(migrateSet, "migrateSchema");
    this.migrate = migrate;
    migrateSet = true;
    return this;
  }

  /**
   * Whether the store analyzes its status table on PostgreSQL as the table grows (by default it
   * does): each time the rows it inserted or finished reach the table's size at the last analyze,
   * from a background thread. Without current statistics PostgreSQL plans the store's batched
   * record-id lookups as scans of the table, and autovacuum's analyze lags a table growing by
   * thousands of rows a second. Turn it off where a DBA's job keeps the statistics current, or
   * where the store's user may not analyze the table (the store also stops, with a warning, when
   * the database refuses). No effect on H2, which analyzes by itself.
   *
   * @throws IllegalStateException if already set
   */
  public JdbcPipelineStoreBuilder maintainStatistics(boolean maintain) {
    once(maintainStatisticsSet, "maintainStatistics");
    this.maintainStatistics = maintain;
    maintainStatisticsSet = true;
    return this;
  }

  /**
   * Gives every record its full row in {@code pipeline_records} (off by default). Records in flight
   * are kept by the batch ledger as by default, and {@code pipeline_status} answers for them; the
   * write that ends a record in its batch (published, filtered, dead-lettered, ...) also inserts
   * its full row, in the same transaction, so that once a record ended its row is in the table,
   * with its final state, attempts, errors and the worker that ended it. A record that leaves the
   * happy path before it ends (parked for a retry, checkpointed) gets its row then, as by default.
   * The batch ledger alone writes full rows only for records that need attention. For a full row of
   * every record from its ingest on, see {@link #rowsFromIngest}.
   *
   * @return this builder
   * @throws IllegalStateException if already set
   */
  public JdbcPipelineStoreBuilder fullLedger(boolean full) {
    once(fullLedgerSet, "fullLedger");
    this.fullLedger = full;
    fullLedgerSet = true;
    return this;
  }

  /**
   * Keeps a full row in {@code pipeline_records} for every record from its ingest, as version 2 of
   * the schema did, instead of the batch ledger (off by default): every record is written row by
   * row, about three row writes per record. Choose it only when something outside the store reads
   * or writes the rows of records in flight; {@link #fullLedger} gives every ended record its row
   * at a fraction of the cost.
   *
   * @return this builder
   * @throws IllegalStateException if already set
   */
  public JdbcPipelineStoreBuilder rowsFromIngest(boolean fromIngest) {
    once(rowsFromIngestSet, "rowsFromIngest");
    this.rowsFromIngest = fromIngest;
    rowsFromIngestSet = true;
    return this;
  }

  private static void once(boolean set, String what) {
    if (set) {
      throw new IllegalStateException(what + " was already set");
    }
  }

  // the bounds keep the store's arithmetic (millis, nanos, the database's timestamps) in range
  private static Duration within(Duration d, String what, Duration max, String maxText) {
    Objects.requireNonNull(d, what + " cannot be null");
    if (d.isNegative() || d.compareTo(max) > 0) {
      throw new IllegalArgumentException(
          what + " must be between PT0S and " + max + " (" + maxText + "), was " + d);
    }
    return d;
  }

  /**
   * Connects, creates or migrates the schema (or checks it), and starts the heartbeat.
   *
   * @throws IllegalStateException if no database was set, or it is neither H2 nor PostgreSQL
   * @throws JdbcStoreException if the database cannot be reached or the schema is not usable
   */
  public JdbcPipelineStore build() {
    if (dataSource == null && url == null) {
      throw new IllegalStateException(
          "no database: set one with dataSource(...), h2File(...) or jdbcUrl(...)");
    }
    String worker = workerId != null ? workerId : Connections.defaultWorkerId();
    Duration leaseDuration = lease != null ? lease : JdbcPipelineStore.DEFAULT_LEASE;
    Names names = new Names(schema, prefix == null ? "" : prefix);
    HikariDataSource pool = null;
    HikariDataSource heartbeatPool = null;
    try {
      DataSource source;
      Connections.HeartbeatSource heartbeat;
      if (dataSource != null) {
        source = dataSource;
        heartbeat = Connections.reserved(dataSource);
      } else {
        JdbcUrl jdbcUrl = Objects.requireNonNull(url);
        String poolName = "pipeline-jdbc-" + worker;
        pool = Connections.pool(jdbcUrl, user, password, poolSize, poolName);
        heartbeatPool = Connections.pool(jdbcUrl, user, password, 1, poolName + "-heartbeat");
        source = pool;
        heartbeat = Connections.ownPool(heartbeatPool);
      }
      Jdbi jdbi = Jdbi.create(source);
      jdbi.setTemplateEngine(TemplateEngine.NOP);
      Dialect dialect;
      String databaseUrl;
      try (Connection c = source.getConnection()) {
        dialect = Dialect.of(c);
        databaseUrl = c.getMetaData().getURL();
        if (dialect == Dialect.H2) {
          warnOnWriteDelay(c);
        }
      } catch (SQLException e) {
        throw new JdbcStoreException(
            "connect",
            null,
            e.getSQLState(),
            "pipeline-jdbc: cannot connect to the database: " + Database.describe(e),
            e);
      }
      Database db =
          new Database(
              jdbi,
              dialect,
              outageTolerance != null ? outageTolerance : Duration.ofMinutes(5),
              Database.turnsFor(dialect, databaseUrl));
      boolean apply = migrate;
      // in auto-commit mode: the migrator takes its lock and runs each script's transaction
      db.run(
          "migrate",
          null,
          false,
          false,
          h -> {
            Migrator.migrate(h, dialect, names, worker, apply);
            return null;
          });
      JdbcPipelineStore store =
          new JdbcPipelineStore(
              db,
              names,
              worker,
              leaseDuration,
              new Retention(
                  retainPayloads != null ? retainPayloads : Duration.ZERO,
                  retainCompleted,
                  retainLogs,
                  retainSeenKeys,
                  purgeBatchSize),
              pool,
              heartbeat,
              databaseUrl,
              maintainStatistics,
              fullLedger,
              rowsFromIngest);
      store.start(purgeEvery);
      LOG.info(
          "pipeline-jdbc: {} ready (schema version {})", store, JdbcPipelineStore.SCHEMA_VERSION);
      return store;
    } catch (RuntimeException e) {
      if (heartbeatPool != null) {
        heartbeatPool.close();
      }
      if (pool != null) {
        pool.close();
      }
      throw e;
    }
  }

  private static void warnOnWriteDelay(Connection c) {
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS"
                    + " WHERE SETTING_NAME = 'WRITE_DELAY'")) {
      if (rs.next()
          && !"0".equals(rs.getString(1))
          && !c.getMetaData().getURL().contains(":mem:")) {
        LOG.warn(
            "pipeline-jdbc: this H2 database has WRITE_DELAY={} ms: commits of that last"
                + " interval are lost if the JVM is killed. Add ;WRITE_DELAY=0 to the URL (h2File"
                + " does)",
            rs.getString(1));
      }
    } catch (SQLException e) {
      // only a warning
    }
  }
}
