package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.upstream.UpstreamConfiguration;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The application on a real port in front of a {@link FakeVllm} on another, with a {@link
 * RecordingLimitStore} in place of the real limiter. Every subclass shares one Spring context.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(RecordingStoreConfiguration.class)
@Timeout(30)
abstract class ProxyIntegrationTest {

  static final FakeVllm VLLM = FakeVllm.start();
  static final String USER = "alice@example.com";
  static final String PUBLIC_MODEL = "llama3.2-1b";
  static final String ADMIN_TOKEN = "operator-s3cret";

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    registry.add("token.limit.max-body-size", () -> "64KB");
    registry.add("token.limit.admin-token", () -> ADMIN_TOKEN);
    registry.add("token.limit.upstream.connect-timeout", () -> "500ms");
    registry.add("token.limit.upstream.first-byte-timeout", () -> "1500ms");
    registry.add("token.limit.upstream.idle-timeout", () -> "700ms");
    registry.add("token.limit.upstream.answer-timeout", () -> "2500ms");
    registry.add("token.limit.upstream.max-answer-size", () -> "1MB");
    registry.add("token.limit.upstream.health-cache-ttl", () -> "1s");
    registry.add("token.limit.upstream.breaker.sliding-window-size", () -> "4");
    registry.add("token.limit.upstream.breaker.minimum-number-of-calls", () -> "4");
    registry.add("token.limit.upstream.breaker.wait-in-open-state", () -> "1s");
    registry.add("token.limit.upstream.breaker.permitted-calls-in-half-open-state", () -> "1");
  }

  @LocalServerPort int port;

  @Autowired RecordingLimitStore store;

  @Autowired
  @Qualifier(UpstreamConfiguration.CIRCUIT_BREAKER)
  CircuitBreaker breaker;

  WebTestClient client;

  @BeforeEach
  void resetWorld() {
    VLLM.up();
    VLLM.reset();
    store.reset();
    breaker.reset();
    client = LocalClient.to(port);
  }

  String baseUrl() {
    return "http://localhost:" + port;
  }

  /** Waits until every admitted lease is settled, then checks none was settled twice. */
  void awaitAllSettled() {
    await().atMost(Duration.ofSeconds(5)).until(() -> store.unsettled() == 0);
    assertThat(store.settledExactlyOnce())
        .as("every lease settled exactly once: %s", store.settles())
        .isTrue();
  }

  /**
   * A chat completion that vLLM answers (11 prompt tokens, 4 completion tokens) at {@code path}.
   */
  void answeredChat(String path) {
    VLLM.promptTokens(11).answerTokens(4);
    postAsUser(path, chatBody("\"max_tokens\":4")).expectStatus().isOk();
  }

  /** A chat completion at {@code path} that the store rejects by the day's limit. */
  void chatRejectedByTheDay(String path) {
    store.reject(new Admission.Rejected(LimitType.DAY, 5_000, RecordingLimitStore.QUOTA));
    postAsUser(path, chatBody("")).expectStatus().isEqualTo(429);
  }

  /** {@code body} POSTed to {@code path} as {@link #USER}. */
  WebTestClient.ResponseSpec postAsUser(String path, String body) {
    return client.post().uri(path).header("X-User-ID", USER).bodyValue(body).exchange();
  }

  String prometheus() {
    return okBody("/actuator/prometheus", null);
  }

  /** The body of a 200 to a GET of {@code path}, sent with {@code bearer} as token if not null. */
  String okBody(String path, String bearer) {
    return client
        .get()
        .uri(path)
        .headers(
            headers -> {
              if (bearer != null) {
                headers.setBearerAuth(bearer);
              }
            })
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody(String.class)
        .returnResult()
        .getResponseBody();
  }

  static String chatBody(String extra) {
    return """
           {"model":"llama3.2-1b","messages":[{"role":"user","content":"Hello there"}]%s}
           """
        .formatted(extra.isEmpty() ? "" : "," + extra);
  }
}
