package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Connections that hold the server without asking anything are closed: slow headers after the
 * header deadline, an idle keep-alive connection after the idle timeout. A long stream is neither.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(60)
class ConnectionDeadlinesTest {

  static final FakeVllm VLLM = FakeVllm.start();

  static final Duration HEADER_TIMEOUT = Duration.ofMillis(1000);
  static final Duration IDLE_TIMEOUT = Duration.ofMillis(2000);

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    registry.add("token.limit.server.header-timeout", () -> HEADER_TIMEOUT.toMillis() + "ms");
    registry.add("token.limit.server.idle-timeout", () -> IDLE_TIMEOUT.toMillis() + "ms");
  }

  @LocalServerPort int port;

  @BeforeEach
  void setUp() {
    VLLM.reset();
  }

  @Test
  void headersSentOneByteAtATimeAreCutAtTheHeaderDeadline() throws Exception {
    String request =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nX-User-ID: slow\r\n"
            + "X-Padding: "
            + "p".repeat(200)
            + "\r\n\r\n";
    // Before the connection opens, and so before the server's deadline starts.
    long start = System.nanoTime();
    try (Socket socket = connect()) {
      CompletableFuture<Void> trickle =
          CompletableFuture.runAsync(() -> trickle(socket, request, Duration.ofMillis(50)));
      String answer = readUntilClosed(socket);
      Duration took = Duration.ofNanos(System.nanoTime() - start);

      // The 408 is sent before the close, but a client still sending may see a reset first.
      assertThat(answer)
          .satisfiesAnyOf(
              a -> assertThat(a).isEmpty(),
              a -> assertThat(a).startsWith("HTTP/1.1 408").contains("request_timeout"));
      // The whole request would take 12 s at this pace.
      assertThat(took).isBetween(HEADER_TIMEOUT.minusMillis(100), HEADER_TIMEOUT.plusSeconds(8));
      trickle.cancel(true);
    }
  }

  @Test
  void aConnectionThatSendsNothingIsClosedAtTheHeaderDeadline() throws Exception {
    try (Socket socket = connect()) {
      long start = System.nanoTime();
      String answer = readUntilClosed(socket);
      assertThat(answer).startsWith("HTTP/1.1 408");
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isLessThan(HEADER_TIMEOUT.plusSeconds(8));
    }
  }

  @Test
  void anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeoutNotTheHeaderDeadline() throws Exception {
    assertClosedAtTheIdleTimeoutAfter(
        "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n", "llama3.2-1b");
  }

  @Test
  void aConnectionIdleAfterAnsweringAGenerationIsClosedAtTheIdleTimeout() throws Exception {
    assertClosedAtTheIdleTimeoutAfter(chat("idler", false, ""), "chat.completion");
  }

  /** {@code request} is answered (200, containing {@code expected}), then closed when idle. */
  private void assertClosedAtTheIdleTimeoutAfter(String request, String expected) throws Exception {
    try (Socket socket = connect()) {
      // Before the request goes out, and so before the answer starts the idle timeout.
      long start = System.nanoTime();
      send(socket, request);
      String answer = readUntilClosed(socket);
      Duration took = Duration.ofNanos(System.nanoTime() - start);

      assertThat(answer).startsWith("HTTP/1.1 200").contains(expected);
      // Well under the 20 s a connection without the timeout would stay (the read timeout below).
      assertThat(took).isBetween(IDLE_TIMEOUT.minusMillis(300), IDLE_TIMEOUT.plusSeconds(10));
    }
  }

  @Test
  void aStreamAnsweringAPipelinedRequestIsNotCutByTheIdleTimeout() throws Exception {
    VLLM.answerTokens(12).chunkDelay(Duration.ofMillis(300));
    try (Socket socket = connect()) {
      // Both requests in one write: the stream answers the second after the first is answered.
      // Before the requests go out, and so before the stream starts.
      long start = System.nanoTime();
      send(
          socket,
          "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n"
              + chat("piper", true, "Connection: close\r\n"));
      String answer = readUntilClosed(socket);
      Duration took = Duration.ofNanos(System.nanoTime() - start);

      assertThat(answer)
          .startsWith("HTTP/1.1 200")
          .contains("llama3.2-1b")
          .contains("data: [DONE]");
      assertThat(took).isGreaterThan(IDLE_TIMEOUT);
    }
  }

  @Test
  void aRequestPipelinedBehindALongStreamIsAnsweredAfterIt() throws Exception {
    VLLM.answerTokens(12).chunkDelay(Duration.ofMillis(300));
    try (Socket socket = connect()) {
      // The second request's headers are complete at once; it waits for the stream's end, longer
      // than the header deadline; then the idle timeout closes the connection.
      send(socket, chat("piper", true, "") + "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n");
      String answer = readUntilClosed(socket);

      assertThat(answer).startsWith("HTTP/1.1 200").contains("data: [DONE]");
      assertThat(answer.substring(answer.indexOf("data: [DONE]")))
          .contains("HTTP/1.1 200")
          .contains("llama3.2-1b")
          .doesNotContain("HTTP/1.1 408");
    }
  }

  @Test
  void aStreamLongerThanBothTimeoutsCompletes() throws Exception {
    VLLM.answerTokens(12).chunkDelay(Duration.ofMillis(300));
    try (Socket socket = connect()) {
      long start = System.nanoTime();
      send(socket, chat("streamer", true, "Connection: close\r\n"));
      String answer = readUntilClosed(socket);
      Duration took = Duration.ofNanos(System.nanoTime() - start);

      assertThat(answer).startsWith("HTTP/1.1 200").contains("data: [DONE]");
      assertThat(took).isGreaterThan(IDLE_TIMEOUT.plus(HEADER_TIMEOUT));
    }
  }

  /** A chat completion request from {@code user}, with {@code headers} (each ending in CRLF). */
  private static String chat(String user, boolean stream, String headers) {
    String body =
        "{\"model\":\"llama3.2-1b\",\"stream\":"
            + stream
            + ",\"max_tokens\":"
            + (stream ? 12 : 4)
            + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nX-User-ID: "
        + user
        + "\r\nContent-Type: application/json\r\n"
        + headers
        + "Content-Length: "
        + body.length()
        + "\r\n\r\n"
        + body;
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket("localhost", port);
    socket.setSoTimeout(20_000);
    return socket;
  }

  private static void send(Socket socket, String text) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(text.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  private static void trickle(Socket socket, String text, Duration pause) {
    try {
      OutputStream out = socket.getOutputStream();
      for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
        out.write(b);
        out.flush();
        Thread.sleep(pause.toMillis());
      }
    } catch (IOException | InterruptedException e) {
      // The server closed the connection: what the test waits for.
    }
  }

  /** Everything the server sent until it closed the connection (a reset counts as a close). */
  private static String readUntilClosed(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        received.write(buffer, 0, n);
      }
    } catch (SocketException e) {
      if (!String.valueOf(e.getMessage()).contains("reset")) {
        throw e;
      }
    }
    return received.toString(StandardCharsets.ISO_8859_1);
  }
}
