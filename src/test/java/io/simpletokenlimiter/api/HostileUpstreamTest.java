package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.testing.vllm.RecordedRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;

/**
 * A broken or hostile upstream costs bounded memory and time and never charges a user more than the
 * reservation: an oversized or dripping answer is cut (503, the reservation charged: vLLM did the
 * work), an impossible usage report is charged the reservation, and a stream that runs past its
 * budget is cut with the usual error event.
 */
class HostileUpstreamTest extends ProxyIntegrationTest {

  @Autowired MeterRegistry meters;

  @Test
  void anAnswerLargerThanTheBoundIsCutAndChargedItsReservation() {
    VLLM.mode(FakeVllm.Mode.OVERSIZED_ANSWER);

    expect503(chatBody("\"max_tokens\":40"));

    assertChargedTheReservation();
    await().atMost(Duration.ofSeconds(5)).until(() -> VLLM.lastRequest().cancelled());
  }

  /** Streamed too: a server that ignores {@code stream} sends this whole answer, as dripping. */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void anAnswerThatDripsPastTheDeadlineIsCutAndChargedItsReservation(boolean stream) {
    VLLM.mode(FakeVllm.Mode.DRIP).chunkDelay(Duration.ofMillis(200));
    long started = System.nanoTime();

    expect503(chatBody("\"max_tokens\":40,\"stream\":" + stream));

    // answer-timeout is 2.5 s here; dripping the whole answer would take minutes.
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    assertChargedTheReservation();
  }

  @Test
  void usageReportedAboveTheReservationIsChargedOnlyTheReservation() {
    VLLM.mode(FakeVllm.Mode.OVER_REPORT);
    double before = overReported();

    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"max_tokens\":40"))
        .exchange()
        .expectStatus()
        .isOk();

    assertChargedTheReservation();
    assertThat(overReported()).isEqualTo(before + 1);
  }

  @Test
  void aStreamThatRunsPastItsBudgetIsCutWithTheErrorEvent() {
    VLLM.mode(FakeVllm.Mode.ENDLESS_STREAM).chunkDelay(Duration.ofMillis(2)).promptTokens(20);

    List<String> events =
        client
            .post()
            .uri("/v1/chat/completions")
            .header("X-User-ID", USER)
            .accept(MediaType.TEXT_EVENT_STREAM)
            .bodyValue(chatBody("\"stream\":true,\"max_tokens\":50"))
            .exchange()
            .expectStatus()
            .isOk()
            .returnResult(String.class)
            .getResponseBody()
            .collectList()
            .block(Duration.ofSeconds(20));

    assertThat(events).hasSizeLessThanOrEqualTo(51);
    assertThat(events.get(events.size() - 1))
        .isEqualTo(
            "{\"error\":\"model_service_error\","
                + "\"message\":\"Model service is temporarily unavailable\"}");
    assertThat(events.get(events.size() - 2)).contains("tok50 ");
    awaitAllSettled();
    // The prompt vLLM reported and the 50 tokens relayed; the 51st was not, and is not charged.
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(20 + 50);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> VLLM.generationRequests().stream().allMatch(RecordedRequest::cancelled));
  }

  private void expect503(String body) {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(body)
        .exchange()
        .expectStatus()
        .isEqualTo(503)
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("model_service_error");
  }

  private void assertChargedTheReservation() {
    awaitAllSettled();
    assertThat(store.settles())
        .singleElement()
        .extracting(RecordingLimitStore.SettleCall::chargedTokens)
        .isEqualTo(store.admitted().get(0).reservedTokens());
  }

  private double overReported() {
    return meters.get("upstream_usage_over_reservation").counter().count();
  }
}
