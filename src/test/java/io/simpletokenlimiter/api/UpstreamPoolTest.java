package io.simpletokenlimiter.api;

import static io.simpletokenlimiter.api.OneVllmConnection.CHAT;
import static io.simpletokenlimiter.api.OneVllmConnection.USER;
import static io.simpletokenlimiter.api.OneVllmConnection.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.upstream.UpstreamConfiguration;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
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
 * A pool of one connection to vLLM: requests that find it busy answer 503 without counting as
 * failures of vLLM, so a replica at its connection limit does not open the breaker.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(RecordingStoreConfiguration.class)
@Timeout(60)
class UpstreamPoolTest {

  private static final FakeVllm VLLM = FakeVllm.start();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    // the pool's wait for its connection: far shorter than the held stream
    OneVllmConnection.properties(registry, VLLM, "300ms");
    registry.add("token.limit.upstream.breaker.sliding-window-size", () -> "4");
    registry.add("token.limit.upstream.breaker.minimum-number-of-calls", () -> "4");
  }

  @LocalServerPort int port;

  @Autowired RecordingLimitStore store;

  @Autowired
  @Qualifier(UpstreamConfiguration.CIRCUIT_BREAKER)
  CircuitBreaker breaker;

  @AfterAll
  static void stopVllm() {
    VLLM.close();
  }

  @Test
  void requestsFindingEveryConnectionBusyAre503AndLeaveTheBreakerClosed() {
    WebTestClient client = LocalClient.to(port);
    HeldStream held = HeldStream.open(VLLM, client, USER, CHAT.formatted(",\"stream\":true"));

    // The stream holds the only connection: each of these waits for it, then gives up.
    for (int i = 0; i < 6; i++) {
      post(client)
          .expectStatus()
          .isEqualTo(503)
          .expectBody()
          .jsonPath("$.error")
          .isEqualTo("model_service_error");
    }

    assertThat(VLLM.generationRequests()).hasSize(1);
    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
    assertThat(held.release()).last().asString().contains("[DONE]");
    post(client).expectStatus().isOk();
    await().atMost(Duration.ofSeconds(5)).until(() -> store.unsettled() == 0);
    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
  }
}
