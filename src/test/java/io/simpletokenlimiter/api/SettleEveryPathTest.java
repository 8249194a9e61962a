package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Many requests at once, ending every way a request can: no lease leaks, none settles twice. */
class SettleEveryPathTest extends ProxyIntegrationTest {

  @Autowired MeterRegistry meters;

  @Test
  void concurrentRequestsEndingEveryWayAreEachSettledOnce() {
    // Cases 1 and 3 hang up mid-stream and before the answer arrives.
    VLLM.answerTokens(30).answerDelay(Duration.ofMillis(30)).chunkDelay(Duration.ofMillis(5));

    Flux.range(0, 60)
        .flatMap(
            i ->
                switch (i % 4) {
                  case 0 -> stream().then();
                  case 1 -> stream().take(3).then();
                  case 2 -> complete();
                  default -> complete().timeout(Duration.ofMillis(10), Mono.empty());
                },
            30)
        .blockLast(Duration.ofSeconds(30));

    awaitAllSettled();
    // Clients hanging up after 10 ms may do so before admission: then nothing was reserved.
    assertThat(store.admitted()).hasSizeGreaterThanOrEqualTo(45);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> meters.get("concurrent_requests_current").gauge().value() == 0.0);
  }

  private Flux<String> stream() {
    return client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .accept(MediaType.TEXT_EVENT_STREAM)
        .bodyValue(chatBody("\"stream\":true"))
        .exchange()
        .returnResult(String.class)
        .getResponseBody();
  }

  private Mono<Void> complete() {
    return WebClient.create(baseUrl())
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue(chatBody(""))
        .retrieve()
        .bodyToMono(String.class)
        .then();
  }
}
