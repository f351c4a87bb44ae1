package dev.pipeline.bench;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * A data source that counts the SQL round trips made on its connections: each statement executed
 * ({@code execute}, {@code executeQuery}, {@code executeUpdate}, {@code executeBatch}, ...) counts
 * one, a whole JDBC batch one (the drivers send it in one exchange), and each {@code commit} or
 * {@code rollback} one. Result sets are fetched whole by both drivers at their defaults, so they
 * add none. What the pool does on its own (validation of idle connections) is not counted.
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

  /** The round trips counted so far. */
  long roundTrips() {
    return roundTrips.sum();
  }

  /** A data source whose connections, and their statements, are counted. */
  DataSource wrap(DataSource target) {
    return proxy(DataSource.class, target);
  }

  private <T> T proxy(Class<T> type, T target) {
    InvocationHandler handler = new Counting(target);
    return type.cast(
        Proxy.newProxyInstance(
            CountingDataSource.class.getClassLoader(), new Class<?>[] {type}, handler));
  }

  private final class Counting implements InvocationHandler {
    private final Object target;

    Counting(Object target) {
      this.target = target;
    }

    @Override
    public @Nullable Object invoke(Object proxy, Method method, @Nullable Object @Nullable [] args)
        throws Throwable {
      if (EXECUTES.contains(method.getName()) && !(target instanceof DataSource)) {
        roundTrips.increment();
      }
      Object result;
      try {
        result = method.invoke(target, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
      return switch (result) {
        case Connection c when method.getReturnType() == Connection.class ->
            proxy(Connection.class, c);
        case CallableStatement s when method.getReturnType() == CallableStatement.class ->
            proxy(CallableStatement.class, s);
        case PreparedStatement s when method.getReturnType() == PreparedStatement.class ->
            proxy(PreparedStatement.class, s);
        case Statement s when method.getReturnType() == Statement.class ->
            proxy(Statement.class, s);
        case null, default -> result;
      };
    }
  }
}
