package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;

/**
 * The answer does not wait for the settle's store round trip: the body, or a stream's last event,
 * goes out while the settle is still on its way (the reservation keeps counting until it lands).
 */
class SettleOffTheAnswerPathTest extends ProxyIntegrationTest {

  @Test
  void aWholeAnswerArrivesWhileItsSettleIsHeldBack() {
    store.holdSettles();

    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"max_tokens\":5"))
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.usage.completion_tokens")
        .isEqualTo(5);

    assertThat(store.settles()).isEmpty();
    store.releaseSettles();
    awaitAllSettled();
  }

  @Test
  void aStreamEndsWhileItsSettleIsHeldBack() {
    store.holdSettles();

    List<String> events =
        client
            .post()
            .uri("/v1/chat/completions")
            .header("X-User-ID", USER)
            .accept(MediaType.TEXT_EVENT_STREAM)
            .bodyValue(chatBody("\"stream\":true,\"max_tokens\":5"))
            .exchange()
            .expectStatus()
            .isOk()
            .returnResult(String.class)
            .getResponseBody()
            .collectList()
            .block(Duration.ofSeconds(10));

    assertThat(events).last().isEqualTo("[DONE]");
    assertThat(store.settles()).isEmpty();
    store.releaseSettles();
    await().atMost(Duration.ofSeconds(5)).until(() -> store.settles().size() == 1);
    awaitAllSettled();
  }
}
