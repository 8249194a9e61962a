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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
 * The wait for a vLLM connection is bounded twice: in time (the connect timeout) and in length
 * (twice the pool's connections, as the README says). With one connection held and two requests
 * waiting for it, the next request is answered 503 at once, not after the wait, and the two that
 * waited are served when the connection comes back.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(RecordingStoreConfiguration.class)
@Timeout(60)
class UpstreamWaitQueueTest {

  private static final FakeVllm VLLM = FakeVllm.start();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    // the pool's wait for its connection: far longer than this test waits for the refused request
    OneVllmConnection.properties(registry, VLLM, "30s");
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
  void aRequestPastTheFullWaitQueueIs503AtOnceAndTheWaitingOnesAreServed() throws Exception {
    WebTestClient client =
        LocalClient.to(port).mutate().responseTimeout(Duration.ofSeconds(20)).build();
    HeldStream held = HeldStream.open(VLLM, client, USER, CHAT.formatted(",\"stream\":true"));

    // The stream holds the only connection; these two wait for it (the queue's whole length).
    List<CompletableFuture<Integer>> waiting = List.of(statusOf(client), statusOf(client));
    await().atMost(Duration.ofSeconds(10)).until(() -> store.admits().size() == 3);
    // Admitted requests ask the pool on the same loop turn; give them ample time to queue.
    Thread.sleep(300);
    assertThat(waiting).noneMatch(CompletableFuture::isDone);

    post(client)
        .expectStatus()
        .isEqualTo(503)
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("model_service_error");
    assertThat(waiting)
        .as("still waiting: the refusal did not wait")
        .noneMatch(CompletableFuture::isDone);

    assertThat(held.release()).last().asString().contains("[DONE]");
    for (CompletableFuture<Integer> request : waiting) {
      assertThat(request.get(20, TimeUnit.SECONDS)).isEqualTo(200);
    }
    assertThat(VLLM.generationRequests()).hasSize(3);
    await().atMost(Duration.ofSeconds(5)).until(() -> store.unsettled() == 0);
    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
  }

  private static CompletableFuture<Integer> statusOf(WebTestClient client) {
    return CompletableFuture.supplyAsync(
        () -> post(client).returnResult(String.class).getStatus().value());
  }
}
