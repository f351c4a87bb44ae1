package dev.pipeline.dashboard;

import com.sun.net.httpserver.HttpServer;
import dev.pipeline.DeadLetters;
import dev.pipeline.Pipeline;
import dev.pipeline.PipelineClock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * An operations dashboard for running pipelines, served by the JDK's HTTP server inside the host
 * process: an overview (each pipeline's state, throughput and error rate, each stage green, amber
 * or red, the bottleneck, what needs attention), a page per stage with charts over time and its
 * policies' live state, the dead letters (search, reprocess, discard, edit a payload), the retry
 * queue, workers and their leases, the audit trail (searchable), a record's trace by id, and, given
 * a {@link Builder#quality QualitySource}, the quality gates, scores and drift. Pages update
 * themselves by polling. Every change made here is kept in the pipeline's audit trail with who made
 * it: the signed-in user's name, or {@code "dashboard"} without authentication.
 *
 * <pre>{@code
 * try (Dashboard dashboard = Dashboard.builder().pipeline(pipeline).port(8090).start()) {
 *   System.out.println("dashboard at " + dashboard.url());
 *   pipeline.run(source);
 * }
 * }</pre>
 *
 * <p><b>Safe by default.</b> It listens on 127.0.0.1 unless told otherwise, and refuses to listen
 * on any other address unless users or tokens are configured (HTTP basic or bearer, their secrets
 * compared in constant time). A {@link Role#VIEWER} sees everything and changes nothing. GET never
 * changes state; every change is a POST carrying the session's CSRF token, with a SameSite=Strict
 * session cookie. Every value from outside is escaped, and pages are served with a
 * Content-Security-Policy that allows no inline script or style and no framing. Requests are
 * bounded (address, form size, parameters) and a bad one gets an error page, never stopping the
 * server. It serves plain HTTP: behind anything but loopback, put it behind TLS.
 *
 * <p>Thread-safe. Closing it stops the server and its sampler; it does not close the pipelines.
 */
public final class Dashboard implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService requests;
  private final @Nullable ScheduledExecutorService sampling;
  private final URI url;

  private Dashboard(
      HttpServer server,
      ExecutorService requests,
      @Nullable ScheduledExecutorService sampling,
      URI url) {
    this.server = server;
    this.requests = requests;
    this.sampling = sampling;
    this.url = url;
  }

  /** A builder: add pipelines, then {@link Builder#start()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The address the dashboard answers on, e.g. {@code http://127.0.0.1:8090/}. */
  public URI url() {
    return url;
  }

  /** The port it listens on (the one chosen when the builder asked for port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Stops the server (requests in progress get a second to finish) and the sampler. */
  @Override
  public void close() {
    server.stop(1);
    requests.shutdownNow();
    if (sampling != null) {
      sampling.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "Dashboard[" + url + "]";
  }

  /**
   * Configures a dashboard. Not thread-safe; {@link #start()} copies what it was given.
   *
   * <p>Defaults: listen on 127.0.0.1, port 0 (any free port), no users (every caller is an {@link
   * Role#OPERATOR}, allowed on loopback only), a sample of each pipeline's metrics every 5 seconds,
   * 720 points kept per stage (an hour).
   */
  public static final class Builder {
    private final List<Pipeline<?, ?>> pipelines = new ArrayList<>();
    private final List<Credentials.Entry> credentials = new ArrayList<>();
    private String host = "127.0.0.1";
    private int port;
    private @Nullable Role anonymous;
    private Duration sampleEvery = Duration.ofSeconds(5);
    private int historySize = 720;
    private @Nullable MetricsHistorySource history;
    private PipelineClock clock = PipelineClock.system();
    private @Nullable QualitySource quality;

    private Builder() {}

    /**
     * Shows a pipeline.
     *
     * @throws NullPointerException if it is null
     * @throws IllegalArgumentException if a pipeline of the same name was added
     */
    public Builder pipeline(Pipeline<?, ?> pipeline) {
      Objects.requireNonNull(pipeline, "pipeline cannot be null");
      for (Pipeline<?, ?> p : pipelines) {
        if (p.name().equals(pipeline.name())) {
          throw new IllegalArgumentException(
              "a pipeline named '" + pipeline.name() + "' is on the dashboard already");
        }
      }
      pipelines.add(pipeline);
      return this;
    }

    /**
     * The address to listen on: "127.0.0.1" unless set. Any other address than loopback needs
     * {@link #user} or {@link #token}.
     *
     * @throws NullPointerException if it is null
     */
    public Builder bind(String host) {
      this.host = Objects.requireNonNull(host, "host cannot be null");
      return this;
    }

    /**
     * The port, 0 (any free port, the default) to 65535.
     *
     * @throws IllegalArgumentException if out of range
     */
    public Builder port(int port) {
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be from 0 to 65535, was " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * Adds a user who signs in with HTTP basic authentication. Once a user or token is added, every
     * request must authenticate.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the name is blank, longer than 200 characters or holds
     *     ':', or the password is shorter than 12 characters
     */
    public Builder user(String name, String password, Role role) {
      Objects.requireNonNull(name, "name cannot be null");
      Objects.requireNonNull(password, "password cannot be null");
      Objects.requireNonNull(role, "role cannot be null");
      if (name.isBlank() || name.contains(":") || name.length() > DeadLetters.MAX_ACTOR_CHARS) {
        throw new IllegalArgumentException(
            "a user name must hold 1 to "
                + DeadLetters.MAX_ACTOR_CHARS
                + " characters, not be blank and not hold ':' (the audit trail keeps it with"
                + " what the user does)");
      }
      if (password.length() < 12) {
        throw new IllegalArgumentException("a password must have at least 12 characters");
      }
      credentials.add(Credentials.user(name, password, role));
      return this;
    }

    /**
     * Adds a bearer token ({@code Authorization: Bearer <token>}), for scripts reading the JSON
     * endpoints.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the token is shorter than 24 characters
     */
    public Builder token(String token, Role role) {
      Objects.requireNonNull(token, "token cannot be null");
      Objects.requireNonNull(role, "role cannot be null");
      if (token.length() < 24) {
        throw new IllegalArgumentException("a token must have at least 24 characters");
      }
      credentials.add(Credentials.token(token, role));
      return this;
    }

    /**
     * The role of callers when no user or token is configured (loopback only): {@link
     * Role#OPERATOR} unless set; {@link Role#VIEWER} makes a read-only dashboard.
     *
     * @throws NullPointerException if it is null
     */
    public Builder anonymousRole(Role role) {
      this.anonymous = Objects.requireNonNull(role, "role cannot be null");
      return this;
    }

    /**
     * How often the built-in sampler reads each pipeline's metrics, from 100 ms to 1 hour; 5 s
     * unless set.
     *
     * @throws IllegalArgumentException if out of range
     */
    public Builder sampleEvery(Duration interval) {
      Objects.requireNonNull(interval, "interval cannot be null");
      if (interval.compareTo(Duration.ofMillis(100)) < 0
          || interval.compareTo(Duration.ofHours(1)) > 0) {
        throw new IllegalArgumentException(
            "sampleEvery must be from 100 ms to 1 hour, was " + interval);
      }
      this.sampleEvery = interval;
      return this;
    }

    /**
     * How many points the built-in sampler keeps per stage, from 10 to 100,000; 720 unless set.
     *
     * @throws IllegalArgumentException if out of range
     */
    public Builder historySize(int points) {
      if (points < 10 || points > 100_000) {
        throw new IllegalArgumentException(
            "historySize must be from 10 to 100000 points, was " + points);
      }
      this.historySize = points;
      return this;
    }

    /**
     * Reads the stages' history for the charts from this source instead of the pipelines' stored
     * metrics history and the built-in sampler (which still samples the pipelines' totals for the
     * overview).
     *
     * @throws NullPointerException if it is null
     */
    public Builder history(MetricsHistorySource source) {
      this.history = Objects.requireNonNull(source, "source cannot be null");
      return this;
    }

    /**
     * Shows a quality page (gates, rule failures, scores, drift) from this source, and closed gates
     * and drift alerts among what needs attention; without one there is no quality page.
     *
     * @throws NullPointerException if it is null
     */
    public Builder quality(QualitySource source) {
      this.quality = Objects.requireNonNull(source, "source cannot be null");
      return this;
    }

    /**
     * The clock of the samples and sessions; the system clock unless set.
     *
     * @throws NullPointerException if it is null
     */
    public Builder clock(PipelineClock clock) {
      this.clock = Objects.requireNonNull(clock, "clock cannot be null");
      return this;
    }

    /**
     * Starts the dashboard.
     *
     * @throws IllegalStateException if no pipeline was added; if the address is not loopback and no
     *     user or token is configured; if an anonymous role was set alongside users or tokens
     * @throws IllegalArgumentException if the host cannot be resolved
     * @throws UncheckedIOException if the port cannot be bound
     */
    public Dashboard start() {
      if (pipelines.isEmpty()) {
        throw new IllegalStateException("add at least one pipeline with pipeline(...)");
      }
      InetAddress address;
      try {
        address = InetAddress.getByName(host);
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("cannot resolve the host '" + host + "' to bind", e);
      }
      if (!address.isLoopbackAddress() && credentials.isEmpty()) {
        throw new IllegalStateException(
            "refusing to serve the dashboard on "
                + address.getHostAddress()
                + " without authentication: add user(name, password, role) or token(token, role),"
                + " or bind 127.0.0.1");
      }
      if (anonymous != null && !credentials.isEmpty()) {
        throw new IllegalStateException(
            "anonymousRole applies only without users or tokens; give each user a role instead");
      }
      MetricsSampler sampler = new MetricsSampler(pipelines, clock, historySize);
      Board board =
          new Board(
              pipelines,
              history == null ? new StoredHistory(pipelines, sampler, clock) : history,
              sampler,
              clock,
              quality);
      DashboardHandler handler =
          new DashboardHandler(
              board, new Credentials(credentials), anonymous == null ? Role.OPERATOR : anonymous);
      HttpServer server;
      try {
        server = HttpServer.create(new InetSocketAddress(address, port), 64);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot listen on " + address.getHostAddress() + ":" + port + ": " + e.getMessage(), e);
      }
      ExecutorService requests = Executors.newFixedThreadPool(4, daemon("pipeline-dashboard-http"));
      server.setExecutor(requests);
      server.createContext("/", handler);
      ScheduledExecutorService sampling =
          Executors.newSingleThreadScheduledExecutor(daemon("pipeline-dashboard-sampler"));
      long every = sampleEvery.toMillis();
      sampling.scheduleAtFixedRate(sampler::sample, 0, every, TimeUnit.MILLISECONDS);
      server.start();
      String shown =
          address.getHostAddress().contains(":")
              ? "[" + address.getHostAddress() + "]"
              : address.getHostAddress();
      URI url = URI.create("http://" + shown + ":" + server.getAddress().getPort() + "/");
      return new Dashboard(server, requests, sampling, url);
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
      AtomicInteger count = new AtomicInteger();
      return task -> {
        Thread thread = new Thread(task, name + "-" + count.incrementAndGet());
        thread.setDaemon(true);
        return thread;
      };
    }
  }
}
