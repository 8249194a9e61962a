package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A request with {@code Connection: close} is answered, with {@code Connection: close}, and then
 * the connection is closed; whatever the client sent after it is not answered. Also when it arrives
 * before the previous answer's write has completed (pipelined, or sent the moment that answer
 * arrived), which Reactor Netty alone never answers on io_uring. The loops run on io_uring where
 * the kernel offers it: on epoll such a write mostly completes at once, and the fault would not
 * show.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = "token.limit.server.io-uring=true")
@Timeout(60)
class ConnectionCloseRequestsTest {

  static final FakeVllm VLLM = FakeVllm.start();

  static final String MODELS = "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n";
  static final String MODELS_THEN_CLOSE =
      "GET /v1/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
  }

  @LocalServerPort int port;

  @BeforeEach
  void setUp() {
    VLLM.reset();
  }

  @Test
  void aPipelinedRequestAskingToCloseIsAnsweredThenTheConnectionCloses() throws Exception {
    try (RawConnection connection = RawConnection.open(port)) {
      connection.send(MODELS + MODELS_THEN_CLOSE);
      String answers = connection.readUntilClosed();

      assertThat(statusLines(answers)).isEqualTo(2);
      assertThat(answers.substring(answers.lastIndexOf("HTTP/1.1 200")).toLowerCase())
          .contains("connection: close")
          .contains("llama3.2-1b");
      assertThat(answers.substring(0, answers.lastIndexOf("HTTP/1.1 200")).toLowerCase())
          .doesNotContain("connection: close");
    }
  }

  @Test
  void aGenerationPipelinedWithConnectionCloseIsAnsweredAndCharged() throws Exception {
    try (RawConnection connection = RawConnection.open(port)) {
      connection.send(MODELS + RawConnection.chat("closer", false, "Connection: close\r\n"));
      String answers = connection.readUntilClosed();

      assertThat(statusLines(answers)).isEqualTo(2);
      assertThat(answers).contains("chat.completion");
      assertThat(VLLM.generationRequests()).hasSize(1);
    }
  }

  @Test
  void nothingSentAfterARequestAskingToCloseIsAnswered() throws Exception {
    try (RawConnection connection = RawConnection.open(port)) {
      connection.send(MODELS + MODELS_THEN_CLOSE + RawConnection.chat("late", false, ""));
      String answers = connection.readUntilClosed();

      assertThat(statusLines(answers)).isEqualTo(2);
      assertThat(answers).doesNotContain("chat.completion");
      assertThat(VLLM.generationRequests()).isEmpty();
    }
  }

  @Test
  void aRequestAskingToCloseSentTheMomentTheAnswerBeforeArrivesIsAnswered() throws Exception {
    // The race is between the client reading an answer and the server completing its write: run
    // it often enough that a server that drops such requests is seen doing so.
    for (int i = 0; i < 50; i++) {
      try (RawConnection connection = RawConnection.open(port)) {
        connection.send(MODELS);
        assertThat(connection.readAnswer()).startsWith("HTTP/1.1 200");
        connection.send(MODELS_THEN_CLOSE);
        String answer = connection.readUntilClosed();

        assertThat(answer).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close");
      }
    }
  }

  @Test
  void anHttp10RequestIsAnsweredAndItsConnectionClosed() throws Exception {
    try (RawConnection connection = RawConnection.open(port)) {
      connection.send("GET /v1/models HTTP/1.0\r\nHost: localhost\r\n\r\n");
      String answer = connection.readUntilClosed();

      assertThat(answer).startsWith("HTTP/1.").contains(" 200 ").contains("llama3.2-1b");
    }
  }

  private static int statusLines(String answers) {
    Matcher matcher = Pattern.compile("HTTP/1\\.1 \\d{3} ").matcher(answers);
    int count = 0;
    while (matcher.find()) {
      count++;
    }
    return count;
  }
}
