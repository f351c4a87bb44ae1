package dev.pipeline.testkit;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Captures what is printed to {@code System.err} until closed, for a test that expects the library
 * (or a library under it) to log an error: the test asserts on the line instead of letting it
 * print, so that a passing run stays quiet and a missing or changed line fails the test. SLF4J's
 * simple logger, which the library's own tests use, writes to {@code System.err} as it is when a
 * line is written, so its lines are captured; a logger that kept the stream it found at start-up is
 * not.
 *
 * <pre>{@code
 * try (StderrCapture log = new StderrCapture()) {
 *   RunResult result = pipeline.run(source);
 *   assertThat(log.text()).contains("ERROR", "source 'orders' failed");
 * }
 * }</pre>
 *
 * <p>It swaps a process-wide stream: tests that run concurrently in one JVM would capture each
 * other's lines. Close it in the thread that opened it.
 */
public final class StderrCapture implements AutoCloseable {
  private final PrintStream original = System.err;
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

  /** Starts capturing. */
  public StderrCapture() {
    System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
  }

  /** What was printed so far. */
  public String text() {
    System.err.flush();
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /** Stops capturing: {@code System.err} is the stream it was before. */
  @Override
  public void close() {
    System.setErr(original);
  }
}
