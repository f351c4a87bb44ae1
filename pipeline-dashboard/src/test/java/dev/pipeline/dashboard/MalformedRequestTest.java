package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Requests no browser sends, written to the socket as they are: each is answered, none stops it.
 */
class MalformedRequestTest {
  private Pipeline<String, String> pipeline;
  private Dashboard dashboard;

  @BeforeEach
  void start() {
    pipeline = Fixture.pipeline();
    Fixture.run(pipeline, 3, 1);
    dashboard = Dashboard.builder().pipeline(pipeline).start();
  }

  @AfterEach
  void close() {
    dashboard.close();
    pipeline.close();
  }

  /** The status line the server answers a raw request with, or "" if it closed the connection. */
  private String send(String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", dashboard.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      for (int b = in.read(); b >= 0 && b != '\n'; b = in.read()) {
        line.write(b);
      }
      return line.toString(StandardCharsets.ISO_8859_1).strip();
    } catch (java.net.SocketException e) {
      return ""; // reset: the server refused to read on
    }
  }

  private static String get(String target) {
    return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  }

  @Test
  void anAddressWithoutAPathClosesTheConnectionAndTheServerGoesOn() throws Exception {
    // the JDK's server finds no context for a path it cannot read and closes the connection
    assertThat(send(get("mailto:someone@example.com"))).isEmpty();
    assertThat(send(get("*"))).isEqualTo("HTTP/1.1 404 Not Found");
    assertThat(send(get("/"))).isEqualTo("HTTP/1.1 200 OK");
  }

  @Test
  void everyMalformedRequestIsAnsweredAndTheServerGoesOn() throws Exception {
    String post =
        "POST /dead-letters/reprocess HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type:"
            + " application/x-www-form-urlencoded\r\n";
    List<String> requests =
        List.of(
            get("/?%zz"),
            get("/dead-letters?pipeline=orders&text=%C3%28%FF%FE"),
            get("/static/../Dashboard.class"),
            get("/static/%2e%2e/Dashboard.class"),
            get("/static/..%2fDashboard.class"),
            get("//static/dashboard.js"),
            post + "Content-Length: 99999999999999999999999\r\n\r\nx",
            post + "Content-Length: -5\r\n\r\nx",
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(200_000) + "\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: pipeline_dashboard="
                + "a".repeat(100_000)
                + "\r\n\r\n",
            "BREW / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            "\u0000\u0001garbage\r\n\r\n");
    for (String request : requests) {
      String shown = request.substring(0, Math.min(60, request.length()));
      assertThat(send(request)).as(shown).matches("HTTP/1\\.1 (200|400|404|405) .*");
    }
    for (String file : List.of("/static/../Dashboard.class", "/static/%2e%2e/Dashboard.class")) {
      assertThat(send(get(file))).as(file).isEqualTo("HTTP/1.1 404 Not Found");
    }
    assertThat(send(get("/"))).isEqualTo("HTTP/1.1 200 OK");
  }
}
