package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Clients (the OpenAI SDKs, load balancers) send request after request on one keep-alive
 * connection, each after the previous answer. Every one of them is answered: with Reactor Netty
 * 1.3.6 about one connection in thirty stopped reading at its third request, which then waited
 * until the client gave up (reactor/reactor-netty#4361).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(120)
class KeepAliveConnectionTest {

  static final FakeVllm VLLM = FakeVllm.start();

  /**
   * Far longer than any answer here takes, even on a loaded machine; a stalled connection never
   * answers at all.
   */
  static final int ANSWER_TIMEOUT_MILLIS = 10_000;

  static final int CONNECTIONS = 200;

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
  }

  @LocalServerPort int port;

  @Test
  void everyRequestOnAKeepAliveConnectionIsAnswered() throws IOException {
    String chat =
        "{\"model\":\"llama3.2-1b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
            + "\"max_tokens\":5}";
    // The first chat of a fresh context loads and compiles its code: not timed.
    try (Socket socket = new Socket("localhost", port)) {
      OutputStream out = socket.getOutputStream();
      out.write(
          post("/api/v1/chat/completions", "keep-alive-warm-up", chat)
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(readAnswer(socket.getInputStream())).startsWith("HTTP/1.1 200");
    }
    List<String> stalls = new ArrayList<>();
    for (int connection = 0; connection < CONNECTIONS; connection++) {
      // A user of its own per connection: the point is the connection, not the limits.
      String user = "keep-alive-" + connection;
      List<String> requests =
          List.of(
              post("/api/v1/chat/completions", user, chat),
              get("/api/v1/usage/" + user),
              get("/actuator/health/liveness"),
              get("/actuator/health/liveness"));
      try (Socket socket = new Socket("localhost", port)) {
        socket.setSoTimeout(ANSWER_TIMEOUT_MILLIS);
        OutputStream out = socket.getOutputStream();
        InputStream in = socket.getInputStream();
        for (int index = 0; index < requests.size(); index++) {
          out.write(requests.get(index).getBytes(StandardCharsets.US_ASCII));
          out.flush();
          try {
            assertThat(readAnswer(in)).startsWith("HTTP/1.1 200");
          } catch (SocketTimeoutException stalled) {
            stalls.add("connection " + connection + ", request " + (index + 1));
            break;
          }
        }
      }
    }
    assertThat(stalls).as("requests never answered").isEmpty();
  }

  private static String post(String path, String user, String body) {
    return "POST "
        + path
        + " HTTP/1.1\r\nHost: localhost\r\nX-User-ID: "
        + user
        + "\r\n"
        + "Content-Type: application/json\r\nContent-Length: "
        + body.length()
        + "\r\n\r\n"
        + body;
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  }

  /** One answer's head and its body, by Content-Length or chunks; no more. */
  private static String readAnswer(InputStream in) throws IOException {
    String head = readLine(in, "\r\n\r\n");
    String lower = head.toLowerCase(Locale.ROOT);
    if (lower.contains("transfer-encoding: chunked")) {
      while (true) {
        int size = Integer.parseInt(readLine(in, "\r\n").trim(), 16);
        in.readNBytes(size + 2);
        if (size == 0) {
          return head;
        }
      }
    }
    int at = lower.indexOf("content-length:");
    if (at >= 0) {
      int end = lower.indexOf("\r\n", at);
      in.readNBytes(Integer.parseInt(lower.substring(at + 15, end).trim()));
    }
    return head;
  }

  private static String readLine(InputStream in, String terminator) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    while (!bytes.toString(StandardCharsets.US_ASCII).endsWith(terminator)) {
      int next = in.read();
      if (next < 0) {
        throw new IOException("connection closed after: " + bytes);
      }
      bytes.write(next);
    }
    return bytes.toString(StandardCharsets.US_ASCII);
  }
}
