package dev.pipeline.bench.micro;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.ErrorInfo;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What masking secrets costs per error message: the text an error's message becomes where the
 * library keeps or logs it, with the secrets masked ({@code redacted}: {@code ErrorText.redacted}
 * then {@code escape}) against the same without ({@code baseline}: {@code cut} then {@code escape},
 * what it did before), in the same run. Messages: a driver's error of about 200 characters without
 * a secret ({@code plain}), the same with a JDBC URL, a bearer token and an API key in it ({@code
 * secrets}), and a 4,096-character message, the default limit ({@code long}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1)
@State(Scope.Benchmark)
public class RedactionBenchmark {
  @Param({"plain", "secrets", "long"})
  public String message;

  private String text;
  private Exception error;

  @Setup
  public void setUp() {
    String plain =
        "ERROR: duplicate key value violates unique constraint \"orders_pkey\"\n"
            + "  Detail: Key (order_id)=(4711) already exists. Where: SQL statement \"INSERT INTO"
            + " orders (order_id, customer, total) VALUES ($1, $2, $3)\"";
    text =
        switch (message) {
          case "plain" -> plain;
          case "secrets" ->
              "cannot reach jdbc:postgresql://db:5432/orders?user=app&password=hunter2 after 3"
                  + " tries; GET https://api.example.com/v1/items?api_key=AbC123&page=2 returned"
                  + " 401 (Authorization: Bearer eyabc.def-123456)";
          case "long" -> plain.repeat(4_096 / plain.length() + 1).substring(0, 4_096);
          default -> throw new IllegalArgumentException("message: plain, secrets or long");
        };
    error = new IllegalStateException(text, new RuntimeException("the cause"));
  }

  @Benchmark
  public String baseline() {
    return ErrorText.escape(ErrorText.cut(text, ErrorText.DEFAULT_MESSAGE_CHARS));
  }

  @Benchmark
  public String redacted() {
    return ErrorText.escape(ErrorText.redacted(text, ErrorText.DEFAULT_MESSAGE_CHARS));
  }

  @Benchmark
  public ErrorInfo keptError() {
    return ErrorText.defaults().info("enrich", error, 1, Instant.EPOCH);
  }
}
