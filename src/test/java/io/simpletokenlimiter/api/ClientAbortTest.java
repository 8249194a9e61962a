package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/** A client that hangs up in the middle of its request body is not a server error. */
class ClientAbortTest extends ProxyIntegrationTest {

  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private Logger root;

  @BeforeEach
  void captureLogs() {
    root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    logs.start();
    root.addAppender(logs);
  }

  @AfterEach
  void stopCapturing() {
    root.detachAppender(logs);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1/chat/completions", "/tokenize", "/detokenize"})
  void aHangUpMidBodyLogsNoError(String path) throws Exception {
    for (int i = 0; i < 4; i++) {
      // A polite close (FIN) and a reset (RST: "Connection reset by peer" on the server).
      hangUpMidBody(path, i % 2 == 1);
    }
    // The server notices the hang-up asynchronously; then a normal request shows it is still fine.
    Thread.sleep(500);
    client
        .post()
        .uri("/tokenize")
        .bodyValue("{\"prompt\":\"hi\"}")
        .exchange()
        .expectStatus()
        .is2xxSuccessful();
    Thread.sleep(200);

    List<String> errors =
        List.copyOf(logs.list).stream()
            .filter(event -> event.getLevel().isGreaterOrEqual(Level.WARN))
            .map(event -> event.getLoggerName() + ": " + event.getFormattedMessage())
            .toList();
    assertThat(errors).isEmpty();
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  private void hangUpMidBody(String path, boolean reset) throws IOException {
    try (Socket socket = new Socket("localhost", port)) {
      if (reset) {
        socket.setSoLinger(true, 0);
      }
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST "
                  + path
                  + " HTTP/1.1\r\nHost: localhost\r\nX-User-ID: "
                  + USER
                  + "\r\n"
                  + "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n"
                  + "{\"model\":\"llama3.2-1b\",\"messages\":[{\"role\":\"user\",\"content\":\"")
              .getBytes(StandardCharsets.US_ASCII));
      out.write("x".repeat(20_000).getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }
  }
}
