package dev.pipeline.dashboard;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.pipeline.Pipeline;
import dev.pipeline.SafeText;
import dev.pipeline.internal.ErrorText;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every request: security headers, authentication, the session and its CSRF token, bounded input,
 * then the page. GET never changes state; every change is a POST with the session's CSRF token. A
 * request that fails gets an error page with a message safe to show; the server goes on.
 */
final class DashboardHandler implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(DashboardHandler.class);

  /** The longest request URI accepted: room for a link to the longest URL-encoded record id. */
  static final int MAX_URI = 16_384;

  /** The largest POST body accepted. */
  static final int MAX_BODY = 256 * 1_024;

  /** How much of a body too large is read and dropped before the answer. */
  private static final long MAX_DRAIN = 4L * 1_024 * 1_024;

  static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src"
          + " 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

  private final Board board;
  private final Credentials credentials;
  private final Role anonymous;
  private final Sessions sessions = new Sessions();
  private final StaticFiles files = new StaticFiles();

  DashboardHandler(Board board, Credentials credentials, Role anonymous) {
    this.board = board;
    this.credentials = credentials;
    this.anonymous = anonymous;
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      Headers headers = exchange.getResponseHeaders();
      headers.set("Content-Security-Policy", CSP);
      headers.set("X-Content-Type-Options", "nosniff");
      headers.set("X-Frame-Options", "DENY");
      headers.set("Referrer-Policy", "no-referrer");
      headers.set("Cache-Control", "no-store");
      try {
        serve(exchange);
      } catch (BadRequestException e) {
        error(exchange, e.status(), e.getMessage());
      } catch (RuntimeException e) {
        // the error as text, its secrets masked: never the exception itself to the log
        log.warn(
            "dashboard: {} {} failed: {}",
            SafeText.loggable(exchange.getRequestMethod(), 20),
            pathOf(exchange),
            ErrorText.defaults().stackTrace(e));
        error(
            exchange, 500, "the dashboard could not answer this request; the server log says why");
      }
    }
  }

  private void serve(HttpExchange exchange) throws IOException {
    String method = exchange.getRequestMethod();
    String raw = exchange.getRequestURI().getRawPath();
    String rawQuery = exchange.getRequestURI().getRawQuery();
    if (raw.length() + (rawQuery == null ? 0 : rawQuery.length()) > MAX_URI) {
      throw new BadRequestException(414, "the address is longer than " + MAX_URI + " characters");
    }
    boolean post = method.equals("POST");
    if (!post && !method.equals("GET")) {
      exchange.getResponseHeaders().set("Allow", "GET, POST");
      throw new BadRequestException(405, "only GET and POST are answered");
    }
    if (credentials.isEmpty() && !loopbackHost(exchange.getRequestHeaders().getFirst("Host"))) {
      // without authentication only a page asked for by a loopback name is answered: a site whose
      // name an attacker points at 127.0.0.1 (DNS rebinding) gets nothing
      throw new BadRequestException(
          403,
          "this dashboard answers only to 127.0.0.1, localhost or [::1] without authentication");
    }
    Credentials.Caller caller = authenticate(exchange);
    if (caller == null) {
      exchange
          .getResponseHeaders()
          .set("WWW-Authenticate", "Basic realm=\"pipeline dashboard\", charset=\"UTF-8\"");
      throw new BadRequestException(401, "sign in to use the dashboard");
    }
    Role role = caller.role();
    String path = raw;
    if (path.startsWith("/static/")) {
      if (post) {
        throw new BadRequestException(405, "static files are read with GET");
      }
      StaticFiles.File file = files.get(path.substring("/static/".length()));
      if (file == null) {
        throw new BadRequestException(404, "no such file");
      }
      exchange.getResponseHeaders().set("Cache-Control", "no-cache");
      send(exchange, 200, file.contentType(), file.bytes());
      return;
    }
    Session session = sessions.find(exchange.getRequestHeaders().getFirst("Cookie"), board.now());
    boolean fresh = session == null;
    if (session == null) {
      session = sessions.create(board.now());
      exchange.getResponseHeaders().add("Set-Cookie", Sessions.setCookie(session));
    }
    Params query = Params.parse(rawQuery);
    if (post) {
      if (role != Role.OPERATOR) {
        throw new BadRequestException(403, "your role may view the dashboard, not change anything");
      }
      Params form = form(exchange);
      if (fresh || !session.csrfMatches(form.get("csrf"))) {
        throw new BadRequestException(
            403,
            "this form has expired or did not come from the dashboard: reload the page and try again");
      }
      String site = exchange.getRequestHeaders().getFirst("Sec-Fetch-Site");
      if (site != null && site.equals("cross-site")) {
        throw new BadRequestException(403, "a change cannot come from another site");
      }
      Request request = new Request(path, query, form, role, session, caller.name());
      String next = act(request);
      exchange.getResponseHeaders().set("Location", next);
      send(exchange, 303, "text/plain; charset=utf-8", new byte[0]);
      return;
    }
    Request request = new Request(path, query, Params.parse(null), role, session, caller.name());
    if (path.equals("/api/series")) {
      Pipeline<?, ?> pipeline = board.pipeline(query.require("pipeline"));
      StagePage.stage(pipeline, query); // checks the stage
      json(exchange, StagePage.series(board, pipeline, query.require("stage")));
      return;
    }
    boolean live = path.startsWith("/api/live/");
    String page = live ? path.substring("/api/live".length()) : path;
    Page rendered = page(page, request);
    if (live) {
      json(exchange, rendered.view().liveJson());
    } else {
      byte[] html =
          Layout.page(
                  rendered.title(),
                  rendered.nav(),
                  rendered.pipeline(),
                  request,
                  rendered.view(),
                  board.quality() != null)
              .getBytes(StandardCharsets.UTF_8);
      send(exchange, 200, "text/html; charset=utf-8", html);
    }
  }

  private record Page(String title, String nav, Pipeline<?, ?> pipeline, View view) {}

  private Page page(String path, Request request) {
    Params query = request.query();
    return switch (path) {
      case "/" ->
          new Page("Overview", "overview", board.pipeline(query), OverviewPage.render(board));
      case "/stage" -> {
        Pipeline<?, ?> p = board.pipeline(query.require("pipeline"));
        yield new Page(
            "Stage", "overview", p, StagePage.render(board, p, StagePage.stage(p, query)));
      }
      case "/dead-letters" -> {
        Pipeline<?, ?> p = board.pipeline(query);
        yield new Page("Dead letters", "dead-letters", p, DeadLetterPage.render(p, request));
      }
      case "/record" -> {
        Pipeline<?, ?> p = board.pipeline(query);
        yield new Page("Record", "", p, RecordPage.render(p, request));
      }
      case "/audit" -> {
        Pipeline<?, ?> p = board.pipeline(query);
        yield new Page("Audit trail", "audit", p, AuditPage.render(p, request));
      }
      case "/retries" -> {
        Pipeline<?, ?> p = board.pipeline(query);
        yield new Page("Retry queue", "retries", p, OperationsPages.retries(board, p));
      }
      case "/quality" -> {
        Pipeline<?, ?> p = board.pipeline(query);
        yield new Page("Quality", "quality", p, QualityPage.render(board, p, request));
      }
      case "/workers" -> {
        Pipeline<?, ?> p = board.pipeline(query);
        yield new Page("Workers", "workers", p, OperationsPages.workers(board, p));
      }
      default -> throw new BadRequestException(404, "no such page");
    };
  }

  private String act(Request request) {
    Pipeline<?, ?> pipeline = board.pipeline(request.form().require("pipeline"));
    return switch (request.path()) {
      case "/dead-letters/reprocess" -> DeadLetterPage.act(pipeline, request, false);
      case "/dead-letters/discard" -> DeadLetterPage.act(pipeline, request, true);
      case "/dead-letters/edit" -> PayloadEditor.reprocess(pipeline, request);
      case "/quality/reopen" -> QualityPage.reopen(board, pipeline, request);
      default -> throw new BadRequestException(404, "no such action");
    };
  }

  /**
   * Whether a Host header names a loopback address (any port), as a browser on this machine does.
   */
  static boolean loopbackHost(@Nullable String host) {
    if (host == null) {
      return false;
    }
    String name = host.strip().toLowerCase(Locale.ROOT);
    if (name.startsWith("[")) {
      int end = name.indexOf(']');
      return end > 0 && name.substring(1, end).equals("::1");
    }
    int colon = name.indexOf(':');
    if (colon >= 0) {
      name = name.substring(0, colon);
    }
    return name.equals("localhost") || name.equals("127.0.0.1");
  }

  private Credentials.@Nullable Caller authenticate(HttpExchange exchange) {
    if (credentials.isEmpty()) {
      return new Credentials.Caller(Request.ANONYMOUS, anonymous);
    }
    return credentials.authenticate(exchange.getRequestHeaders().getFirst("Authorization"));
  }

  private static Params form(HttpExchange exchange) throws IOException {
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    if (type == null
        || !type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
      throw new BadRequestException(415, "send the form as application/x-www-form-urlencoded");
    }
    InputStream in = exchange.getRequestBody();
    byte[] body = in.readNBytes(MAX_BODY + 1);
    if (body.length > MAX_BODY) {
      // read on a little, so the client gets the answer rather than a connection reset
      try {
        in.skipNBytes(Math.min(MAX_DRAIN, remaining(exchange)));
      } catch (IOException e) {
        // the client sent less than it declared: the answer is the same
      }
      throw new BadRequestException(413, "the form is larger than " + MAX_BODY + " bytes");
    }
    return Params.parse(new String(body, StandardCharsets.UTF_8), MAX_BODY);
  }

  /** The bytes of the body left to read after the first {@code MAX_BODY + 1}, if declared. */
  private static long remaining(HttpExchange exchange) {
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    try {
      return length == null ? 0 : Math.max(0, Long.parseLong(length.strip()) - MAX_BODY - 1);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static void json(HttpExchange exchange, String json) throws IOException {
    send(exchange, 200, "application/json; charset=utf-8", json.getBytes(StandardCharsets.UTF_8));
  }

  private static void error(HttpExchange exchange, int status, String message) throws IOException {
    Html h = new Html();
    h.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    h.text(status).raw(" · pipeline dashboard</title>");
    h.raw(
        "<link rel=\"stylesheet\" href=\"/static/dashboard.css\">"
            + "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\"></head><body><main>");
    h.raw("<h1>").text(status).raw("</h1><p class=\"error\">").text(message);
    h.raw("</p><p><a href=\"/\">Overview</a></p></main></body></html>");
    send(
        exchange,
        status,
        "text/html; charset=utf-8",
        h.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      exchange.getResponseBody().write(body);
    }
  }

  private static String pathOf(HttpExchange exchange) {
    String path = exchange.getRequestURI().getRawPath();
    return SafeText.loggable(path, 200);
  }
}
