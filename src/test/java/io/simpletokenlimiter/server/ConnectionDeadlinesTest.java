package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
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
    try (RawConnection connection = RawConnection.open(port)) {
      CompletableFuture<Void> trickle =
          CompletableFuture.runAsync(
              () -> trickle(connection.socket(), request, Duration.ofMillis(50)));
      String answer = connection.readUntilClosed();
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
    try (RawConnection connection = RawConnection.open(port)) {
      long start = System.nanoTime();
      String answer = connection.readUntilClosed();
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
    assertClosedAtTheIdleTimeoutAfter(RawConnection.chat("idler", false, ""), "chat.completion");
  }

  /** {@code request} is answered (200, containing {@code expected}), then closed when idle. */
  private void assertClosedAtTheIdleTimeoutAfter(String request, String expected) throws Exception {
    try (RawConnection connection = RawConnection.open(port)) {
      // Before the request goes out, and so before the answer starts the idle timeout.
      long start = System.nanoTime();
      connection.send(request);
      String answer = connection.readUntilClosed();
      Duration took = Duration.ofNanos(System.nanoTime() - start);

      assertThat(answer).startsWith("HTTP/1.1 200").contains(expected);
      // Well under the 20 s a connection without the timeout would stay (the read timeout below).
      assertThat(took).isBetween(IDLE_TIMEOUT.minusMillis(300), IDLE_TIMEOUT.plusSeconds(10));
    }
  }

  @Test
  void aStreamAnsweringAPipelinedRequestIsNotCutByTheIdleTimeout() throws Exception {
    VLLM.answerTokens(12).chunkDelay(Duration.ofMillis(300));
    try (RawConnection connection = RawConnection.open(port)) {
      // Both requests in one write: the stream answers the second after the first is answered.
      // Before the requests go out, and so before the stream starts.
      long start = System.nanoTime();
      connection.send(
          "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n"
              + RawConnection.chat("piper", true, "Connection: close\r\n"));
      String answer = connection.readUntilClosed();
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
    try (RawConnection connection = RawConnection.open(port)) {
      // The second request's headers are complete at once; it waits for the stream's end, longer
      // than the header deadline; then the idle timeout closes the connection.
      connection.send(
          RawConnection.chat("piper", true, "")
              + "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n");
      String answer = connection.readUntilClosed();

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
    try (RawConnection connection = RawConnection.open(port)) {
      long start = System.nanoTime();
      connection.send(RawConnection.chat("streamer", true, "Connection: close\r\n"));
      String answer = connection.readUntilClosed();
      Duration took = Duration.ofNanos(System.nanoTime() - start);

      assertThat(answer).startsWith("HTTP/1.1 200").contains("data: [DONE]");
      assertThat(took).isGreaterThan(IDLE_TIMEOUT.plus(HEADER_TIMEOUT));
    }
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
}
