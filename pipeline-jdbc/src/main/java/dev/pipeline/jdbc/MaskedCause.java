package dev.pipeline.jdbc;

import dev.pipeline.internal.ErrorText;
import java.io.Serial;
import java.sql.SQLException;
import java.sql.SQLInvalidAuthorizationSpecException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.sql.SQLTransientException;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * An exception and its causes with the secrets of their messages masked: a driver may put the JDBC
 * URL, with its password, or a token in an error's message, and a logger given an exception prints
 * its causes' messages as they are. A chain with nothing to mask is kept as it is, so a caller
 * still sees the driver's own exception. Otherwise the chain is copied: a database error as a
 * {@link SQLException} of the class family the store's retry decisions read (transient,
 * recoverable, ...) with its SQLState, vendor code and next exception; any other exception as a
 * stand-in whose text names the original class; each with the original's stack frames. Stateless.
 */
final class MaskedCause {

  private MaskedCause() {}

  /** The exception itself if no message of its chain changes when masked, else a masked copy. */
  static @Nullable Throwable of(@Nullable Throwable e, UnaryOperator<String> mask) {
    return e == null || !leaks(e, mask) ? e : copy(e, mask, 0);
  }

  /** As {@link #of(Throwable, UnaryOperator)}, for a database error. */
  static SQLException of(SQLException e, UnaryOperator<String> mask) {
    return leaks(e, mask) ? (SQLException) copy(e, mask, 0) : e;
  }

  private static boolean leaks(Throwable e, UnaryOperator<String> mask) {
    int depth = 0;
    for (Throwable t = e; t != null && depth < ErrorText.MAX_THROWABLES; t = t.getCause()) {
      String message = message(t);
      if (message != null && !mask.apply(message).equals(message)) {
        return true;
      }
      if (t instanceof SQLException sql
          && sql.getNextException() != null
          && sql.getNextException() != sql
          && leaks(sql.getNextException(), mask)) {
        return true;
      }
      depth++;
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  private static Throwable copy(Throwable t, UnaryOperator<String> mask, int depth) {
    Throwable next = t.getCause();
    Throwable cause =
        next == null || next == t || depth + 1 >= ErrorText.MAX_THROWABLES
            ? null
            : copy(next, mask, depth + 1);
    String raw = message(t);
    String message = raw == null ? null : mask.apply(raw);
    Throwable copy;
    if (t instanceof SQLException e) {
      SQLException sql = sameFamily(e, message, cause);
      SQLException following = e.getNextException();
      if (following != null && following != e && depth + 1 < ErrorText.MAX_THROWABLES) {
        sql.setNextException((SQLException) copy(following, mask, depth + 1));
      }
      copy = sql;
    } else {
      copy = new Masked(t.getClass().getName() + (message == null ? "" : ": " + message), cause);
    }
    copy.setStackTrace(t.getStackTrace());
    return copy;
  }

  private static SQLException sameFamily(
      SQLException e, @Nullable String message, @Nullable Throwable cause) {
    String state = e.getSQLState();
    int code = e.getErrorCode();
    if (e instanceof SQLTransientConnectionException) {
      return new SQLTransientConnectionException(message, state, code, cause);
    } else if (e instanceof SQLTransientException) {
      return new SQLTransientException(message, state, code, cause);
    } else if (e instanceof SQLRecoverableException) {
      return new SQLRecoverableException(message, state, code, cause);
    } else if (e instanceof SQLInvalidAuthorizationSpecException) {
      return new SQLInvalidAuthorizationSpecException(message, state, code, cause);
    } else if (e instanceof SQLNonTransientConnectionException) {
      return new SQLNonTransientConnectionException(message, state, code, cause);
    }
    return new SQLException(message, state, code, cause);
  }

  private static @Nullable String message(Throwable t) {
    try {
      return t.getMessage();
    } catch (RuntimeException e) {
      return "[message unreadable: " + e.getClass().getName() + "]";
    }
  }

  /** A cause whose message was masked; its text names the original class. */
  private static final class Masked extends Exception {
    @Serial private static final long serialVersionUID = 1L;

    Masked(String text, @Nullable Throwable cause) {
      super(text, cause, false, true);
    }

    @Override
    public String toString() {
      return String.valueOf(getMessage());
    }
  }
}
