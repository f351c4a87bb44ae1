package dev.pipeline.jdbc;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * A JDBC URL checked before any driver sees it: only H2 and PostgreSQL URLs, read as their drivers
 * read them (H2's {@code \} escapes and case-insensitive names, pgjdbc's raw names and decoded
 * values), and only settings on an allow-list, so that a URL from outside cannot run code, load a
 * class or write a file. The secrets it carries (passwords) are taken out of the URL and handed to
 * the driver as connection properties; the URL is shown only {@link #toString() masked}.
 *
 * <p>Immutable and thread-safe.
 */
final class JdbcUrl {
  enum Kind {
    H2,
    POSTGRESQL
  }

  static final String H2_PREFIX = "jdbc:h2:";
  static final String POSTGRESQL_PREFIX = "jdbc:postgresql:";
  private static final String MASK = "***";

  /**
   * H2 settings let through, in upper case as H2 compares them. Each only tunes the database: none
   * runs SQL, loads a class, writes a file elsewhere or opens a port. AUTO_SERVER is not among
   * them: it opens a TCP server other hosts can reach.
   */
  static final Set<String> H2_SETTINGS =
      Set.of(
          "USER",
          "PASSWORD",
          "CIPHER",
          "DB_CLOSE_DELAY",
          "DB_CLOSE_ON_EXIT",
          "WRITE_DELAY",
          "MODE",
          "DATABASE_TO_UPPER",
          "DATABASE_TO_LOWER",
          "CASE_INSENSITIVE_IDENTIFIERS",
          "IFEXISTS",
          "FORBID_CREATION",
          "LOCK_TIMEOUT",
          "CACHE_SIZE",
          "MAX_COMPACT_TIME");

  /**
   * PostgreSQL settings let through, spelt as pgjdbc reads them (it compares names case-sensitively
   * and does not decode them): where to connect, how to authenticate, TLS, timeouts, the schema and
   * statement caching. None names a class, a log file or a service file, and none sets server
   * settings ({@code options}).
   */
  static final Set<String> POSTGRESQL_SETTINGS =
      Set.of(
          "user",
          "password",
          "ssl",
          "sslmode",
          "sslrootcert",
          "sslcert",
          "sslkey",
          "sslpassword",
          "sslNegotiation",
          "sslResponseTimeout",
          "channelBinding",
          "requireAuth",
          "gssEncMode",
          "ApplicationName",
          "connectTimeout",
          "socketTimeout",
          "loginTimeout",
          "cancelSignalTimeout",
          "tcpKeepAlive",
          "tcpNoDelay",
          "targetServerType",
          "loadBalanceHosts",
          "hostRecheckSeconds",
          "currentSchema",
          "prepareThreshold",
          "preparedStatementCacheQueries",
          "preparedStatementCacheSizeMiB",
          "reWriteBatchedInserts",
          "defaultRowFetchSize",
          "binaryTransfer");

  private static final String INSTANTIATES = "names a class the driver instantiates";

  /** Why the best-known refused settings are refused (others: they are not on the list). */
  private static final Map<String, String> REFUSED =
      Map.ofEntries(
          Map.entry("INIT", "runs SQL, and through CREATE ALIAS Java code, on every connection"),
          Map.entry("DATABASE_EVENT_LISTENER", INSTANTIATES),
          Map.entry("JAVA_OBJECT_SERIALIZER", INSTANTIATES),
          Map.entry("AUTHENTICATOR", INSTANTIATES),
          Map.entry("DEFAULT_TABLE_ENGINE", INSTANTIATES),
          Map.entry("RECOVER_TEST", "calls a static method"),
          Map.entry("AUTHREALM", "selects an authentication class"),
          Map.entry("TRACE_LEVEL_SYSTEM_OUT", "prints every statement with its values"),
          Map.entry("TRACE_LEVEL_FILE", "writes every statement with its values to a file"),
          Map.entry(
              "AUTO_SERVER",
              "opens a TCP server that other hosts can reach (to share a store between processes,"
                  + " use PostgreSQL)"),
          Map.entry("socketFactory", INSTANTIATES),
          Map.entry("sslfactory", INSTANTIATES),
          Map.entry("sslhostnameverifier", INSTANTIATES),
          Map.entry("sslpasswordcallback", INSTANTIATES),
          Map.entry("authenticationPluginClassName", INSTANTIATES),
          Map.entry("connectExecutor", INSTANTIATES),
          Map.entry("xmlFactoryFactory", INSTANTIATES),
          Map.entry("socketFactoryArg", "is handed to a class the driver instantiates"),
          Map.entry("sslfactoryarg", "is handed to a class the driver instantiates"),
          Map.entry("connectExecutorArg", "is handed to a class the driver instantiates"),
          Map.entry("classLoaderStrategy", "chooses where the driver loads classes from"),
          Map.entry("loggerFile", "makes the driver write a log file at a path the URL names"),
          Map.entry("loggerLevel", "makes the driver log connection details, the URL included"),
          Map.entry("service", "reads more settings, class names included, from pg_service.conf"),
          Map.entry(
              "options",
              "sets server settings (search_path, standard_conforming_strings, ...) that change"
                  + " how the database reads the store's SQL"));

  final Kind kind;
  private final String raw;
  private final String driverUrl;
  private final Map<String, String> secretProperties;
  private final String masked;
  private final List<String> secrets;

  private JdbcUrl(
      Kind kind,
      String raw,
      String driverUrl,
      Map<String, String> secretProperties,
      String masked,
      List<String> secrets) {
    this.kind = kind;
    this.raw = raw;
    this.driverUrl = driverUrl;
    this.secretProperties = secretProperties;
    this.masked = masked;
    this.secrets = secrets;
  }

  /**
   * Checks a URL.
   *
   * @param alsoAllowed settings the caller let through besides the allow-lists (H2 compares them in
   *     upper case, PostgreSQL as written)
   * @throws IllegalArgumentException naming the refused setting (or form), why, and what to do; the
   *     URL in the message is masked
   */
  static JdbcUrl check(String url, Set<String> alsoAllowed) {
    if (url.startsWith(H2_PREFIX)) {
      return h2(url, alsoAllowed);
    }
    if (url.startsWith(POSTGRESQL_PREFIX)) {
      return postgresql(url, alsoAllowed);
    }
    int second = url.indexOf(':', url.indexOf(':') + 1);
    String scheme = second < 0 ? "" : url.substring(0, Math.min(second + 1, 40));
    throw new IllegalArgumentException(
        "JDBC URL rejected: pipeline-jdbc connects to URLs that start with "
            + H2_PREFIX
            + " or "
            + POSTGRESQL_PREFIX
            + " (in lower case, as the drivers read them), this one starts with "
            + Names.quote(scheme)
            + "; for another driver, build the pool yourself and pass it to dataSource(...)");
  }

  /** The URL the driver gets: no secrets in it (they go as {@link #secretProperties()}). */
  String driverUrl() {
    return driverUrl;
  }

  /** Secret settings taken out of the URL, as driver connection properties. */
  Map<String, String> secretProperties() {
    return secretProperties;
  }

  boolean hasPassword() {
    return secretProperties.containsKey(kind == Kind.H2 ? "PASSWORD" : "password");
  }

  /** The URL with every secret masked. */
  @Override
  public String toString() {
    return masked;
  }

  /** A text with the URL and each secret it carries (of 4 characters or more) masked. */
  String scrub(@Nullable String text) {
    if (text == null) {
      return "null";
    }
    String out = text.replace(raw, masked);
    for (String secret : secrets) {
      out = out.replace(secret, MASK);
    }
    return out;
  }

  /**
   * The exception itself, or a copy of it and its causes with the URL and secrets masked if any of
   * their messages carried them (a driver echoing the URL), as {@link MaskedCause} makes it.
   */
  SQLException scrub(SQLException e) {
    return MaskedCause.of(e, this::scrub);
  }

  // ------------------------------------------------------------------ H2

  /**
   * H2 reads what follows the first ';' as settings separated by ';', a {@code \} taking the next
   * character literally (so {@code IN\IT} is INIT and {@code \;} does not end a setting), and
   * compares each name in upper case (English rules: {@code ınıt} is INIT too).
   */
  private static JdbcUrl h2(String url, Set<String> alsoAllowed) {
    int semicolon = url.indexOf(';');
    String name = semicolon < 0 ? url : url.substring(0, semicolon);
    List<Setting> settings = semicolon < 0 ? List.of() : split(url, semicolon + 1, ';', true);
    List<String> secrets = new ArrayList<>();
    String maskedName = maskUserInfo(name, secrets);
    String masked = join(maskedName, ';', ";", settings, true);
    if (!maskedName.equals(name) && (name.contains("tcp://") || name.contains("ssl://"))) {
      throw new IllegalArgumentException(
          "H2 URL rejected: H2 reads no user:password@ before the host; pass the user and the"
              + " password as the arguments of jdbcUrl(url, user, password). URL: "
              + Names.quote(masked));
    }
    Set<String> allowed = new TreeSet<>();
    alsoAllowed.forEach(s -> allowed.add(s.toUpperCase(Locale.ENGLISH)));
    Map<String, String> secretProperties = new LinkedHashMap<>();
    List<Setting> kept = new ArrayList<>();
    for (Setting s : settings) {
      if (s.name == null) {
        throw new IllegalArgumentException(
            "H2 URL rejected: setting "
                + Names.quote(s.text)
                + " has no '=' (H2 settings are ;NAME=value); fix or remove it. URL: "
                + Names.quote(masked));
      }
      String key = s.name.toUpperCase(Locale.ENGLISH);
      if (!H2_SETTINGS.contains(key) && !allowed.contains(key)) {
        throw refused("H2", key, String.valueOf(s.rawName), H2_SETTINGS, masked);
      }
      if (key.equals("PASSWORD")) {
        secretProperties.put(key, s.value);
        secrets.add(s.value);
      } else {
        kept.add(s);
      }
    }
    return new JdbcUrl(
        Kind.H2,
        url,
        join(name, ';', ";", kept, false),
        Map.copyOf(secretProperties),
        masked,
        longEnough(secrets));
  }

  // ------------------------------------------------------------------ PostgreSQL

  /**
   * pgjdbc splits what follows the first '?' on '&', takes each name as written (case-sensitive,
   * not percent-decoded) and percent-decodes each value; a later setting of a name wins.
   */
  private static JdbcUrl postgresql(String url, Set<String> alsoAllowed) {
    int question = url.indexOf('?');
    String server = question < 0 ? url : url.substring(0, question);
    List<Setting> settings = question < 0 ? List.of() : split(url, question + 1, '&', false);
    List<String> secrets = new ArrayList<>();
    String maskedServer = maskUserInfo(server, secrets);
    String masked = join(maskedServer, '?', "&", settings, true);
    String rest = server.substring(POSTGRESQL_PREFIX.length());
    if (rest.startsWith("//")) {
      int slash = rest.indexOf('/', 2);
      if (slash < 0) {
        throw new IllegalArgumentException(
            "PostgreSQL URL rejected: it needs a '/' after the host or port, as in"
                + " jdbc:postgresql://host:5432/database. URL: "
                + Names.quote(masked));
      }
      if (rest.substring(2, slash).contains("@")) {
        throw new IllegalArgumentException(
            "PostgreSQL URL rejected: the driver reads no user:password@ before the host; pass"
                + " them as ?user=...&password=... or as the arguments of jdbcUrl(url, user,"
                + " password). URL: "
                + Names.quote(masked));
      }
    }
    Map<String, String> secretProperties = new LinkedHashMap<>();
    List<Setting> kept = new ArrayList<>();
    for (Setting s : settings) {
      String key = s.name == null ? s.text : s.name;
      if (!POSTGRESQL_SETTINGS.contains(key) && !alsoAllowed.contains(key)) {
        throw refused("PostgreSQL", key, key, POSTGRESQL_SETTINGS, masked);
      }
      String value;
      try {
        value = URLDecoder.decode(s.value, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "PostgreSQL URL rejected: the value of "
                + key
                + " is not valid percent-encoding (write % as %25). URL: "
                + Names.quote(masked),
            e);
      }
      if (key.equals("password") || key.equals("sslpassword")) {
        secretProperties.put(key, value);
        secrets.add(value);
        secrets.add(s.value);
      } else {
        kept.add(s);
      }
    }
    return new JdbcUrl(
        Kind.POSTGRESQL,
        url,
        join(server, '?', "&", kept, false),
        Map.copyOf(secretProperties),
        masked,
        longEnough(secrets));
  }

  private static IllegalArgumentException refused(
      String database, String key, String written, Set<String> list, String masked) {
    String why = REFUSED.get(key);
    String sameButCase =
        list.stream()
            .filter(s -> database.equals("PostgreSQL") && s.equalsIgnoreCase(key))
            .findFirst()
            .orElse(null);
    return new IllegalArgumentException(
        database
            + " URL rejected: setting "
            + key
            + (written.equals(key) ? "" : " (written " + Names.quote(written) + ")")
            + (why != null ? " " + why : " is not one pipeline-jdbc lets through")
            + (sameButCase != null
                ? "; the driver reads names as written: did you mean " + sameButCase + "?"
                : "")
            + ". Settings let through: "
            + String.join(", ", new TreeSet<>(list))
            + ". Remove it from the URL, or, if your own code chose it (never a URL from outside),"
            + " let it through with JdbcPipelineStore.builder().allowUrlSetting(\""
            + key
            + "\") before jdbcUrl(...). URL: "
            + Names.quote(masked));
  }

  // ------------------------------------------------------------------ parsing

  /**
   * One setting: its text (unescaped), name and value (no name without '='), and as written in the
   * URL: whole and its name.
   */
  private record Setting(
      String text, @Nullable String name, String value, String raw, @Nullable String rawName) {}

  private static List<Setting> split(String url, int from, char separator, boolean escapes) {
    List<Setting> out = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    int start = from;
    int valueStart = -1;
    int equals = -1;
    for (int i = from; i <= url.length(); i++) {
      if (i == url.length() || url.charAt(i) == separator) {
        if (text.length() > 0) {
          String t = text.toString();
          String raw = url.substring(start, i);
          out.add(
              equals < 0
                  ? new Setting(t, null, "", raw, null)
                  : new Setting(
                      t,
                      t.substring(0, equals),
                      escapes ? t.substring(equals + 1) : url.substring(valueStart, i),
                      raw,
                      url.substring(start, valueStart - 1)));
        }
        text.setLength(0);
        start = i + 1;
        valueStart = -1;
        equals = -1;
        continue;
      }
      char c = url.charAt(i);
      if (escapes && c == '\\' && i < url.length() - 1) {
        c = url.charAt(++i);
      }
      if (c == '=' && equals < 0) {
        equals = text.length();
        valueStart = i + 1;
      }
      text.append(c);
    }
    return out;
  }

  /** The head and its settings as written, each secret value masked if asked. */
  private static String join(
      String head, char first, String separator, List<Setting> settings, boolean mask) {
    StringBuilder out = new StringBuilder(head);
    for (int i = 0; i < settings.size(); i++) {
      Setting s = settings.get(i);
      out.append(i == 0 ? String.valueOf(first) : separator);
      if (mask && s.name != null && s.rawName != null && looksSecret(s.name)) {
        out.append(s.rawName).append('=').append(MASK);
      } else {
        out.append(s.raw);
      }
    }
    return out.toString();
  }

  private static boolean looksSecret(String name) {
    String upper = name.toUpperCase(Locale.ENGLISH);
    return upper.contains("PASS")
        || upper.contains("PWD")
        || upper.contains("SECRET")
        || upper.contains("TOKEN")
        || upper.contains("CREDENTIAL");
  }

  /** {@code //user:password@host} with the password masked, which is added to the secrets. */
  private static String maskUserInfo(String head, List<String> secrets) {
    int authority = head.indexOf("//");
    if (authority < 0) {
      return head;
    }
    int end = head.indexOf('/', authority + 2);
    String hosts = end < 0 ? head.substring(authority + 2) : head.substring(authority + 2, end);
    int at = hosts.lastIndexOf('@');
    if (at < 0) {
      return head;
    }
    int colon = hosts.indexOf(':');
    if (colon < 0 || colon > at) {
      return head;
    }
    secrets.add(hosts.substring(colon + 1, at));
    return head.substring(0, authority + 2)
        + hosts.substring(0, colon + 1)
        + MASK
        + head.substring(authority + 2 + at);
  }

  private static List<String> longEnough(List<String> secrets) {
    // a shorter secret would mask ordinary words of a driver's message; it is masked in the URL
    return secrets.stream().filter(s -> s.length() >= 4).distinct().toList();
  }
}
