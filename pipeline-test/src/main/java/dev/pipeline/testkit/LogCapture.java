package dev.pipeline.testkit;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.LoggingEventBuilder;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * An SLF4J provider for tests that keeps, as text, every line the library's loggers ({@code
 * dev.pipeline.*}) write at every level, DEBUG and TRACE included, so that a test can assert what
 * is and what is not logged: that no secret reaches a log line, say. Each line is kept as a logger
 * would print it, the exception given to it with its whole stack trace and causes. Every line is
 * also passed on to the other SLF4J provider on the class path (slf4j-simple, say), which prints
 * what its own configuration lets through; other loggers are that provider's alone.
 *
 * <p>Chosen with the system property {@code slf4j.provider} (it is not registered as a service, so
 * it is never picked by chance), for instance in Surefire's {@code systemPropertyVariables}:
 *
 * <pre>{@code
 * <slf4j.provider>dev.pipeline.testkit.LogCapture</slf4j.provider>
 * }</pre>
 *
 * <pre>{@code
 * int mark = LogCapture.mark();
 * store.appendAudit(lines);                        // fails, and logs why
 * assertThat(LogCapture.since(mark)).noneMatch(line -> line.contains("hunter2"));
 * }</pre>
 *
 * <p>It keeps the last {@value #KEPT} lines of the JVM, each cut at {@value #MAX_LINE_CHARS}
 * characters. Lines of tests that run at the same time mix. Thread-safe.
 */
public final class LogCapture implements SLF4JServiceProvider {
  /** The most lines kept; older ones are forgotten. */
  public static final int KEPT = 5_000;

  /** The most characters kept of one line (with its stack trace); the rest is cut. */
  public static final int MAX_LINE_CHARS = 65_536;

  private static final String CAPTURED = "dev.pipeline";
  private static final ReentrantLock LOCK = new ReentrantLock();
  private static final ArrayDeque<String> LINES = new ArrayDeque<>(); // guarded by LOCK
  private static long written; // guarded by LOCK

  private final IMarkerFactory markers = new BasicMarkerFactory();
  private @Nullable SLF4JServiceProvider next;
  private @Nullable ILoggerFactory factory;

  /** Made by SLF4J. */
  public LogCapture() {}

  /** Where the lines written from now on start, for {@link #since(int)}. */
  public static int mark() {
    LOCK.lock();
    try {
      return (int) Math.min(Integer.MAX_VALUE, written);
    } finally {
      LOCK.unlock();
    }
  }

  /**
   * The lines written since {@code mark} (those still kept), oldest first.
   *
   * @throws IllegalArgumentException if the mark is negative
   */
  public static List<String> since(int mark) {
    if (mark < 0) {
      throw new IllegalArgumentException("mark must be at least 0, was " + mark);
    }
    LOCK.lock();
    try {
      long skip = Math.max(0, mark - (written - LINES.size()));
      List<String> lines = new ArrayList<>(LINES);
      return List.copyOf(lines.subList((int) Math.min(skip, lines.size()), lines.size()));
    } finally {
      LOCK.unlock();
    }
  }

  private static void keep(String line) {
    LOCK.lock();
    try {
      if (LINES.size() == KEPT) {
        LINES.removeFirst();
      }
      LINES.addLast(line.length() > MAX_LINE_CHARS ? line.substring(0, MAX_LINE_CHARS) : line);
      written++;
    } finally {
      LOCK.unlock();
    }
  }

  @Override
  public void initialize() {
    for (SLF4JServiceProvider found : ServiceLoader.load(SLF4JServiceProvider.class)) {
      if (!(found instanceof LogCapture)) {
        found.initialize();
        next = found;
        break;
      }
    }
    ConcurrentMap<String, Logger> loggers = new ConcurrentHashMap<>();
    SLF4JServiceProvider delegate = next;
    factory =
        name ->
            loggers.computeIfAbsent(
                name,
                n -> {
                  Logger passed =
                      delegate == null ? null : delegate.getLoggerFactory().getLogger(n);
                  if (!n.startsWith(CAPTURED)) {
                    return passed != null ? passed : new Capturing(n, null);
                  }
                  return new Capturing(n, passed);
                });
  }

  @Override
  public ILoggerFactory getLoggerFactory() {
    ILoggerFactory f = factory;
    if (f == null) {
      throw new IllegalStateException("SLF4J did not initialize the provider");
    }
    return f;
  }

  @Override
  public IMarkerFactory getMarkerFactory() {
    SLF4JServiceProvider n = next;
    return n != null ? n.getMarkerFactory() : markers;
  }

  @Override
  public MDCAdapter getMDCAdapter() {
    SLF4JServiceProvider n = next;
    return n != null ? n.getMDCAdapter() : new NOPMDCAdapter();
  }

  @Override
  public String getRequestedApiVersion() {
    return "2.0.99";
  }

  /** Keeps every line at every level, and passes it on to the next provider's logger. */
  private static final class Capturing extends EveryLevelLogger {
    private static final long serialVersionUID = 1L;

    private final transient @Nullable Logger passed;

    Capturing(String name, @Nullable Logger passed) {
      this.name = name;
      this.passed = passed;
    }

    @Override
    protected void handleNormalizedLoggingCall(
        Level level,
        @Nullable Marker marker,
        @Nullable String pattern,
        @Nullable Object @Nullable [] arguments,
        @Nullable Throwable cause) {
      StringBuilder line = new StringBuilder().append(level).append(' ').append(name);
      line.append(" - ").append(MessageFormatter.basicArrayFormat(pattern, arguments));
      if (cause != null) {
        StringWriter trace = new StringWriter();
        cause.printStackTrace(new PrintWriter(trace));
        line.append(System.lineSeparator()).append(trace);
      }
      keep(line.toString());
      Logger p = passed;
      if (p != null && p.isEnabledForLevel(level)) {
        LoggingEventBuilder event = p.atLevel(level);
        if (marker != null) {
          event.addMarker(marker);
        }
        if (arguments != null) {
          for (Object argument : arguments) {
            event.addArgument(argument);
          }
        }
        if (cause != null) {
          event.setCause(cause);
        }
        event.log(pattern);
      }
    }
  }
}
