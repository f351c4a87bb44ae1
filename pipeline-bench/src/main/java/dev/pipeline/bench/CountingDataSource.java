package dev.pipeline.bench;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * A data source that counts the SQL round trips made on its connections: each statement executed
 * ({@code execute}, {@code executeQuery}, {@code executeUpdate}, {@code executeBatch}, ...) counts
 * one, a whole JDBC batch one (the drivers send it in one exchange), and each {@code commit} or
 * {@code rollback} one. Result sets are fetched whole by both drivers at their defaults, so they
 * add none. What the pool does on its own (validation of idle connections) is not counted. Each
 * kind of round trip is also timed (wall time, summed over the threads), for {@link #breakdown}.
 *
 * <p>Thread-safe.
 */
final class CountingDataSource {
  private static final Set<String> EXECUTES =
      Set.of(
          "execute",
          "executeQuery",
          "executeUpdate",
          "executeLargeUpdate",
          "executeBatch",
          "executeLargeBatch",
          "commit",
          "rollback");

  private final LongAdder roundTrips = new LongAdder();
  private final Map<String, Kind> kinds = new ConcurrentHashMap<>();

  /** The round trips counted so far. */
  long roundTrips() {
    return roundTrips.sum();
  }

  /**
   * Forgets the round trips counted so far for {@link #breakdown} (not for {@link #roundTrips}).
   */
  void resetBreakdown() {
    kinds.clear();
  }

  /**
   * The round trips since the last {@link #resetBreakdown} of the statements whose short name (see
   * {@link #shorten}) {@code statement} accepts, and the wall time spent in them: {count, nanos}.
   */
  long[] tripsOf(java.util.function.Predicate<String> statement) {
    long[] out = new long[2];
    kinds.forEach(
        (name, kind) -> {
          if (statement.test(name)) {
            out[0] += kind.count.sum();
            out[1] += kind.nanos.sum();
          }
        });
    return out;
  }

  /**
   * The round trips since the last {@link #resetBreakdown} by what they ran (the statement's text,
   * shortened: its first words and the columns it sets, the schema left out), with the wall time
   * spent in them, most time first.
   */
  List<String> breakdown() {
    List<Map.Entry<String, Kind>> all = new ArrayList<>(kinds.entrySet());
    all.sort(
        Comparator.comparingLong((Map.Entry<String, Kind> e) -> e.getValue().nanos.sum())
            .reversed());
    List<String> lines = new ArrayList<>();
    for (Map.Entry<String, Kind> e : all) {
      lines.add(
          String.format(
              Locale.ROOT,
              "%,9d trips %,9.1f ms  %s",
              e.getValue().count.sum(),
              e.getValue().nanos.sum() / 1e6,
              e.getKey()));
    }
    return lines;
  }

  /** A data source whose connections, and their statements, are counted. */
  DataSource wrap(DataSource target) {
    return proxy(DataSource.class, target, null);
  }

  private <T> T proxy(Class<T> type, T target, @Nullable String statement) {
    InvocationHandler handler = new Counting(target, statement);
    return type.cast(
        Proxy.newProxyInstance(
            CountingDataSource.class.getClassLoader(), new Class<?>[] {type}, handler));
  }

  // statement texts repeat: shortening each prepared statement's text again (regular expressions
  // over a kilobyte of SQL) was a measurable share of the CPU the durable runs charged to the store
  private static final int SHORT_NAMES_KEPT = 10_000;
  private static final Map<String, String> SHORT_NAMES = new ConcurrentHashMap<>();

  /** The short name of a statement's text, remembered for the texts seen before. */
  static String shortName(String sql) {
    String known = SHORT_NAMES.get(sql);
    if (known != null) {
      return known;
    }
    String name = shorten(sql);
    if (SHORT_NAMES.size() < SHORT_NAMES_KEPT) {
      SHORT_NAMES.put(sql, name);
    }
    return name;
  }

  /** The short name of a statement's text. */
  static String shorten(String sql) {
    String s = SCHEMA.matcher(sql.strip().replaceAll("\\s+", " ")).replaceAll("");
    int where = s.toUpperCase(Locale.ROOT).indexOf(" WHERE ");
    if (where > 0) {
      s = s.substring(0, where);
    }
    return s.length() > 90 ? s.substring(0, 90) + "…" : s;
  }

  private static final Pattern SCHEMA = Pattern.compile("\\bbench_[a-z0-9]+\\.");

  private static final class Kind {
    final LongAdder count = new LongAdder();
    final LongAdder nanos = new LongAdder();
  }

  private final class Counting implements InvocationHandler {
    private final Object target;
    private final @Nullable String statement;

    Counting(Object target, @Nullable String statement) {
      this.target = target;
      this.statement = statement;
    }

    @Override
    public @Nullable Object invoke(Object proxy, Method method, @Nullable Object @Nullable [] args)
        throws Throwable {
      String name = method.getName();
      boolean trip = EXECUTES.contains(name) && !(target instanceof DataSource);
      long start = trip ? System.nanoTime() : 0;
      Object result;
      try {
        result = method.invoke(target, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      } finally {
        if (trip) {
          roundTrips.increment();
          String what =
              name.equals("commit") || name.equals("rollback")
                  ? name
                  : statement != null
                      ? statement
                      : args != null && args.length > 0 && args[0] instanceof String sql
                          ? shortName(sql)
                          : name;
          Kind kind = kinds.computeIfAbsent(what, k -> new Kind());
          kind.count.increment();
          kind.nanos.add(System.nanoTime() - start);
        }
      }
      String sql =
          result instanceof Statement
                  && args != null
                  && args.length > 0
                  && args[0] instanceof String text
              ? shortName(text)
              : null;
      return switch (result) {
        case Connection c when method.getReturnType() == Connection.class ->
            proxy(Connection.class, c, null);
        case CallableStatement s when method.getReturnType() == CallableStatement.class ->
            proxy(CallableStatement.class, s, sql);
        case PreparedStatement s when method.getReturnType() == PreparedStatement.class ->
            proxy(PreparedStatement.class, s, sql);
        case Statement s when method.getReturnType() == Statement.class ->
            proxy(Statement.class, s, null);
        case null, default -> result;
      };
    }
  }
}
