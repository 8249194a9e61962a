package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.reactive.server.WebTestClient;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;

/** SPEC §6 for the model server: every failure is a clean answer, charged nothing. */
class UpstreamFailureTest extends ProxyIntegrationTest {

  private static final String MODEL_SERVICE_ERROR =
      "{\"error\":\"model_service_error\","
          + "\"message\":\"Model service is temporarily unavailable\"}";

  @Test
  void serverErrorIs503ChargedNothingWithRateLimitHeaders() {
    VLLM.mode(FakeVllm.Mode.FAIL_500);

    post()
        .expectStatus()
        .isEqualTo(503)
        .expectHeader()
        .valueEquals("x-ratelimit-limit-tokens", "1000")
        .expectBody()
        .json(MODEL_SERVICE_ERROR);

    assertSettledWithNothing();
  }

  @Test
  void clientErrorFromVllmIsPassedThroughWithItsBody() {
    VLLM.mode(FakeVllm.Mode.REJECT_400);

    post()
        .expectStatus()
        .isBadRequest()
        .expectHeader()
        .valueEquals("x-ratelimit-remaining-tokens", "400")
        .expectBody()
        .jsonPath("$.object")
        .isEqualTo("error")
        .jsonPath("$.type")
        .isEqualTo("BadRequestError")
        .jsonPath("$.code")
        .isEqualTo(400);

    assertSettledWithNothing();
    assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
  }

  @Test
  void hangingVllmTimesOutAs503AndTheUpstreamCallIsClosed() {
    VLLM.mode(FakeVllm.Mode.HANG);

    post().expectStatus().isEqualTo(503).expectBody().json(MODEL_SERVICE_ERROR);

    await().atMost(Duration.ofSeconds(5)).until(() -> VLLM.lastRequest().cancelled());
    assertSettledWithNothing();
  }

  @Test
  void vllmDownIs503() {
    VLLM.down();

    post().expectStatus().isEqualTo(503).expectBody().json(MODEL_SERVICE_ERROR);

    assertSettledWithNothing();
  }

  @Test
  void connectionClosedWithoutAnAnswerIs503() {
    VLLM.mode(FakeVllm.Mode.CUT_MID_STREAM);

    post().expectStatus().isEqualTo(503).expectBody().json(MODEL_SERVICE_ERROR);

    assertSettledWithNothing();
  }

  @Test
  void slowButInTimeAnswerIsServed() {
    VLLM.answerDelay(Duration.ofMillis(300));

    post().expectStatus().isOk();

    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens())
        .isEqualTo(VLLM.lastRequest().reportedUsage().orElseThrow().totalTokens());
  }

  @Test
  void clientGoingAwayFromAWholeAnswerCancelsTheUpstreamAndChargesTheReservation() {
    VLLM.answerDelay(Duration.ofSeconds(5));

    Disposable call =
        HttpClient.create()
            .headers(h -> h.set("X-User-ID", USER).set("Content-Type", "application/json"))
            .post()
            .uri(baseUrl() + "/v1/chat/completions")
            .send(ByteBufFlux.fromString(Mono.just(chatBody("\"max_tokens\":3"))))
            .response()
            .subscribe();
    await().atMost(Duration.ofSeconds(5)).until(() -> !VLLM.generationRequests().isEmpty());
    call.dispose();

    await().atMost(Duration.ofSeconds(5)).until(() -> VLLM.lastRequest().cancelled());
    awaitAllSettled();
    // vLLM does not say how much of a non-streamed answer it generated before it stopped.
    long reserved = store.admits().get(0).request().usageWith(3).total();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(reserved);
  }

  @Test
  void breakerOpensAfterFailuresFailsFastThenHalfOpensAndCloses() {
    VLLM.mode(FakeVllm.Mode.FAIL_500);
    for (int i = 0; i < 4; i++) {
      post().expectStatus().isEqualTo(503);
    }
    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);
    int reached = VLLM.generationRequests().size();

    VLLM.mode(FakeVllm.Mode.NORMAL);
    post().expectStatus().isEqualTo(503).expectBody().json(MODEL_SERVICE_ERROR);
    assertThat(VLLM.generationRequests()).hasSize(reached);

    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () ->
                client
                        .post()
                        .uri("/v1/chat/completions")
                        .header("X-User-ID", USER)
                        .bodyValue(chatBody("\"max_tokens\":2"))
                        .exchange()
                        .returnResult(String.class)
                        .getStatus()
                        .value()
                    == 200);
    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(VLLM.generationRequests()).hasSize(reached + 1);
    awaitAllSettled();
  }

  @Test
  void clientErrorsDoNotOpenTheBreaker() {
    VLLM.mode(FakeVllm.Mode.REJECT_400);
    for (int i = 0; i < 6; i++) {
      post().expectStatus().isBadRequest();
    }
    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    awaitAllSettled();
  }

  private WebTestClient.ResponseSpec post() {
    return client
        .post()
        .uri("/api/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"max_tokens\":8"))
        .exchange();
  }

  private void assertSettledWithNothing() {
    awaitAllSettled();
    assertThat(store.settles())
        .isNotEmpty()
        .allSatisfy(s -> assertThat(s.chargedTokens()).isZero());
  }
}
