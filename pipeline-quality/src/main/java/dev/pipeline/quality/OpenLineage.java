package dev.pipeline.quality;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineClock;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends run-level <a href="https://openlineage.io">OpenLineage</a> events (spec 2-0-2) for a
 * pipeline's runs to a lineage server such as Marquez: a START when a run begins, then COMPLETE,
 * FAIL or ABORT (cancelled) when it ends, the job named by the pipeline, with the inputs and
 * outputs declared here, the quality gates' rule verdicts of the run as a {@code
 * dataQualityAssertions} facet of each input (a rule succeeds when no record of the run failed it)
 * and the records published as each output's {@code outputStatistics} row count.
 *
 * <pre>{@code
 * OpenLineage lineage = OpenLineage.to(URI.create("http://marquez:5000/api/v1/lineage"))
 *     .namespace("equipment")
 *     .input("file", "/data/listings.jsonl")
 *     .output("postgresql://db:5432", "shop.public.listings")
 *     .gate(gate)
 *     .build();
 * RunResult result = lineage.run(pipeline, source);
 * }</pre>
 *
 * <p>Off unless built: a pipeline run without it sends nothing. Events are posted as JSON with the
 * JDK's {@link HttpClient}, asynchronously: the run never waits for the server, and a run's events
 * go in order (its end after its start). A failed post (an error status, a refused connection, a
 * timeout) is counted ({@link #failed()}) and logged with the server's address only, never its API
 * key, query or the failure's message; it is not retried. A FAIL event names the failure's type,
 * not its message (which may hold secrets). {@link #close()} waits for the posts under way.
 *
 * <p>Thread-safe: several pipelines may run through one instance at once.
 */
public final class OpenLineage implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(OpenLineage.class);

  /** The producer URI the events name unless another is given. */
  public static final String PRODUCER = "urn:dev.pipeline:pipeline-quality";

  /** The longest namespace, dataset name or API key taken: each goes in every event or post. */
  public static final int MAX_TEXT_CHARS = 4_096;

  /** The longest timeout taken: {@link #close()} may wait twice as long. */
  public static final Duration MAX_TIMEOUT = Duration.ofMinutes(10);

  private final URI url;
  private final String where; // the url as logged: scheme, host, port and path only
  private final @Nullable String apiKey;
  private final Duration timeout;
  private final PipelineClock clock;
  private final List<QualityGate<?>> gates;
  private final OpenLineageEvents events;
  private final HttpClient client;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  // the last post under way: each post follows it, so events go in order and close() can wait
  private final AtomicReference<CompletableFuture<Void>> last =
      new AtomicReference<>(CompletableFuture.completedFuture(null));

  private OpenLineage(Builder b) {
    this.url = b.url;
    this.where = b.url.getScheme() + "://" + b.url.getAuthority() + b.url.getRawPath();
    this.apiKey = b.apiKey;
    this.timeout = b.timeout;
    this.clock = b.clock;
    this.gates = List.copyOf(b.gates);
    this.events = new OpenLineageEvents(b.producer, b.namespace, b.inputs, b.outputs);
    this.client = HttpClient.newBuilder().connectTimeout(b.timeout).build();
  }

  /**
   * Starts the configuration of events sent to a lineage server's endpoint (Marquez: {@code
   * http://host:5000/api/v1/lineage}).
   *
   * @throws NullPointerException if the url is null
   * @throws IllegalArgumentException if it is not an absolute http or https URL with a host, or
   *     holds a user name or password (give a key with {@link Builder#apiKey})
   */
  public static Builder to(URI url) {
    return new Builder(url);
  }

  /**
   * Runs the pipeline over the source, sending START before and the run's end event after. The
   * events' run id is new for each call.
   *
   * @throws dev.pipeline.PipelineException as {@link Pipeline#run(Source)} does, after a FAIL event
   *     is sent
   */
  public <I> RunResult run(Pipeline<I, ?> pipeline, Source<? extends I> source) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(source, "source cannot be null");
    UUID runId = runId();
    List<Map<String, Long>> before = new ArrayList<>();
    for (QualityGate<?> gate : gates) {
      before.add(new HashMap<>(gate.counts().failuresByRule()));
    }
    post(events.start(runId, pipeline.name(), clock.now()));
    RunResult result;
    try {
      result = pipeline.run(source);
    } catch (RuntimeException | Error e) {
      post(events.thrown(runId, pipeline.name(), clock.now(), e));
      throw e;
    }
    List<OpenLineageEvents.Verdict> verdicts = new ArrayList<>();
    for (int i = 0; i < gates.size(); i++) {
      QualityGate<?> gate = gates.get(i);
      OpenLineageEvents.verdicts(gate, before.get(i), gate.counts(), verdicts);
    }
    post(events.end(runId, result, clock.now(), verdicts));
    return result;
  }

  /** Events the server accepted (a 2xx status). */
  public long sent() {
    return sent.get();
  }

  /** Events that could not be delivered: an error status, no connection, or no answer in time. */
  public long failed() {
    return failed.get();
  }

  /**
   * Waits for the events under way, at most the timeout given to the builder (twice, for a start
   * and an end), then lets the HTTP client go.
   */
  @Override
  public void close() {
    try {
      last.get().get(timeout.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("OpenLineage events to {} still under way at close: given up", where);
    }
    client.shutdownNow();
  }

  private void post(String json) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json));
    if (apiKey != null) {
      request.header("Authorization", "Bearer " + apiKey);
    }
    HttpRequest r = request.build();
    CompletableFuture<Void> next = new CompletableFuture<>();
    CompletableFuture<Void> before = last.getAndSet(next);
    before.whenComplete(
        (ignored, alsoIgnored) -> {
          try {
            client
                .sendAsync(r, HttpResponse.BodyHandlers.discarding())
                .whenComplete(
                    (response, error) -> {
                      if (error == null && response.statusCode() / 100 == 2) {
                        sent.incrementAndGet();
                      } else {
                        failed.incrementAndGet();
                        LOG.warn(
                            "OpenLineage event not delivered to {}: {}",
                            where,
                            error != null ? rootType(error) : "status " + response.statusCode());
                      }
                      next.complete(null);
                    });
          } catch (RuntimeException e) {
            failed.incrementAndGet();
            LOG.warn("OpenLineage event not sent to {}: {}", where, e.getClass().getName());
            next.complete(null);
          }
        });
  }

  private static String rootType(Throwable error) {
    Throwable t = error;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getName();
  }

  /** A version 7 UUID (time-ordered, as OpenLineage recommends for run ids). */
  private UUID runId() {
    long millis = clock.now().toEpochMilli();
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (millis << 16) | 0x7000L | (random.nextLong() & 0x0fffL);
    long low = (random.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
    return new UUID(high, low);
  }

  /** Configures an {@link OpenLineage}. Not thread-safe; {@link #build} copies it. */
  public static final class Builder {
    private final URI url;
    private String namespace = "dev.pipeline";
    private String producer = PRODUCER;
    private @Nullable String apiKey;
    private Duration timeout = Duration.ofSeconds(10);
    private PipelineClock clock = PipelineClock.system();
    private final List<OpenLineageEvents.Dataset> inputs = new ArrayList<>();
    private final List<OpenLineageEvents.Dataset> outputs = new ArrayList<>();
    private final List<QualityGate<?>> gates = new ArrayList<>();

    private Builder(URI url) {
      Objects.requireNonNull(url, "url cannot be null");
      String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
      if (!url.isAbsolute()
          || !(scheme.equals("http") || scheme.equals("https"))
          || url.getHost() == null) {
        throw new IllegalArgumentException(
            "an OpenLineage url must be an absolute http or https URL with a host, such as"
                + " http://marquez:5000/api/v1/lineage; was "
                + url.getScheme()
                + "://"
                + url.getHost());
      }
      if (url.getRawUserInfo() != null) {
        throw new IllegalArgumentException(
            "an OpenLineage url cannot hold a user name or password: give a key with apiKey()");
      }
      this.url = url;
    }

    /** The jobs' namespace (default {@code dev.pipeline}); each pipeline is a job named by it. */
    public Builder namespace(String namespace) {
      this.namespace = text(namespace, "namespace");
      return this;
    }

    /** A dataset the pipeline reads, as OpenLineage names datasets (e.g. {@code file}, a path). */
    public Builder input(String namespace, String name) {
      inputs.add(new OpenLineageEvents.Dataset(text(namespace, "namespace"), text(name, "name")));
      return this;
    }

    /** A dataset the pipeline writes. */
    public Builder output(String namespace, String name) {
      outputs.add(new OpenLineageEvents.Dataset(text(namespace, "namespace"), text(name, "name")));
      return this;
    }

    /** A quality gate of the pipeline: its rules' verdicts of each run go with the inputs. */
    public Builder gate(QualityGate<?> gate) {
      gates.add(Objects.requireNonNull(gate, "gate cannot be null"));
      return this;
    }

    /**
     * A key sent as {@code Authorization: Bearer <key>}; never logged, nor named in an exception.
     *
     * @throws IllegalArgumentException if it is longer than {@link #MAX_TEXT_CHARS} or holds a
     *     character other than printable ASCII without spaces (U+0021 to U+007E), which an HTTP
     *     header cannot carry: checked here, since the HTTP client's own error would quote the key
     */
    public Builder apiKey(String apiKey) {
      if (this.apiKey != null) {
        throw new IllegalStateException("apiKey was already set");
      }
      Objects.requireNonNull(apiKey, "apiKey cannot be null");
      if (apiKey.isEmpty() || apiKey.length() > MAX_TEXT_CHARS) {
        throw new IllegalArgumentException(
            "apiKey must be 1 to " + MAX_TEXT_CHARS + " characters, was " + apiKey.length());
      }
      for (int i = 0; i < apiKey.length(); i++) {
        char c = apiKey.charAt(i);
        if (c < 0x21 || c > 0x7E) {
          throw new IllegalArgumentException(
              "apiKey may hold only printable ASCII characters without spaces (U+0021 to U+007E);"
                  + " the character at position "
                  + i
                  + " is not one");
        }
      }
      this.apiKey = apiKey;
      return this;
    }

    /**
     * The producer URI the events name (default {@link #PRODUCER}).
     *
     * @throws IllegalArgumentException if it is longer than {@link #MAX_TEXT_CHARS} characters
     */
    public Builder producer(URI producer) {
      this.producer =
          text(Objects.requireNonNull(producer, "producer cannot be null").toString(), "producer");
      return this;
    }

    /**
     * How long a post may take, connecting included (default 10 s).
     *
     * @throws IllegalArgumentException unless it is between 1 ms and {@link #MAX_TIMEOUT}
     */
    public Builder timeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout cannot be null");
      if (timeout.compareTo(Duration.ofMillis(1)) < 0 || timeout.compareTo(MAX_TIMEOUT) > 0) {
        throw new IllegalArgumentException(
            "timeout must be between 1 ms and 10 minutes (OpenLineage.MAX_TIMEOUT), was "
                + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /** The clock of the events' times (default the system's). */
    public Builder clock(PipelineClock clock) {
      this.clock = Objects.requireNonNull(clock, "clock cannot be null");
      return this;
    }

    /** The emitter; its HTTP client is its own, let go by {@link OpenLineage#close()}. */
    public OpenLineage build() {
      return new OpenLineage(this);
    }

    /**
     * A namespace, name or producer: not blank, at most {@link #MAX_TEXT_CHARS} characters, no
     * control character (the JSON would escape one, but a lineage server storing it in PostgreSQL
     * refuses a NUL, and each would fail every event), no unpaired surrogate.
     */
    private static String text(String value, String what) {
      Objects.requireNonNull(value, what + " cannot be null");
      if (value.isBlank()) {
        throw new IllegalArgumentException(what + " cannot be blank");
      }
      if (value.length() > MAX_TEXT_CHARS) {
        throw new IllegalArgumentException(
            what + " must be 1 to " + MAX_TEXT_CHARS + " characters, was " + value.length());
      }
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (Character.isSurrogate(c)) {
          boolean paired =
              Character.isHighSurrogate(c)
                  ? i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))
                  : i > 0 && Character.isHighSurrogate(value.charAt(i - 1));
          if (!paired) {
            // UTF-8 has no form for it: the event would carry '?' in its place
            throw new IllegalArgumentException(
                String.format(
                    Locale.ROOT,
                    "%s holds the unpaired surrogate U+%04X at position %d; use valid text",
                    what,
                    (int) c,
                    i));
          }
        }
        if (c < 0x20 || c == 0x7F) {
          throw new IllegalArgumentException(
              String.format(
                  Locale.ROOT,
                  "%s holds the control character U+%04X at position %d; use one without",
                  what,
                  (int) c,
                  i));
        }
      }
      return value;
    }
  }
}
