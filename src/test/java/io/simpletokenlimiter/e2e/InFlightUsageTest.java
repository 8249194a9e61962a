package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.e2e.ApiClient.Usage;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/v1/usage/{userId}} while requests are in flight: a request counts its whole
 * reservation (prompt + budget) in every window until it ends, then exactly what vLLM reported.
 */
class InFlightUsageTest extends MemoryReplicaTest {

  @Test
  void anUnknownUserHasZerosNotAnError() {
    assertThat(api.usage(newUser("nobody"))).isEqualTo(new Usage(0, 0, 0, 0));
  }

  @Test
  void aHeldRequestCountsPromptPlusMaxTokensThenWhatWasServed() throws Exception {
    String user = newUser("held");
    VLLM.holdAnswers();

    CompletableFuture<Answer> answer = send(user, ChatRequest.of(100, user));

    Usage during = awaitInFlight(user, 1);
    assertThat(during).isEqualTo(new Usage(prompt + 100, prompt + 100, prompt + 100, 1));

    VLLM.releaseAnswers();
    Answer done = answer.get(30, TimeUnit.SECONDS);
    assertThat(done.status()).isEqualTo(200);
    long served = done.json().path("usage").path("total_tokens").longValue();
    assertThat(served).isEqualTo(prompt + 30);
    assertThat(settledUsage(user)).isEqualTo(new Usage(served, served, served, 0));
  }

  @Test
  void aStreamCountsItsReservationWhileChunksFlowThenWhatWasServed() throws Exception {
    String user = newUser("streamer");
    VLLM.holdLastChunk();

    CompletableFuture<Answer> answer = send(user, ChatRequest.of(50, user).streamed());

    assertThat(awaitInFlight(user, 1))
        .isEqualTo(new Usage(prompt + 50, prompt + 50, prompt + 50, 1));

    VLLM.releaseHeldChunks();
    assertThat(answer.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    long served = VLLM.lastRequest().reportedUsage().orElseThrow().totalTokens();
    assertThat(served).isEqualTo(prompt + 30);
    assertThat(settledUsage(user)).isEqualTo(new Usage(served, served, served, 0));
  }

  @Test
  void withoutMaxTokensTheReservationTakesAllTheRoomLeft() throws Exception {
    String user = newUser("greedy");
    Answer first = api.chat(user, ChatRequest.of(100, user + "-first").json()).block();
    long spent = first.json().path("usage").path("total_tokens").longValue();
    VLLM.holdAnswers();

    CompletableFuture<Answer> greedy = send(user, ChatRequest.withoutMaxTokens(user + "-greedy"));

    // The whole minute is taken: what was served plus the reservation of the one in flight.
    assertThat(awaitInFlight(user, 1).minute()).isEqualTo(MINUTE_LIMIT);
    assertThat(VLLM.lastRequest().json().path("max_tokens").longValue())
        .isEqualTo(MINUTE_LIMIT - spent - prompt);
    Answer meanwhile = api.chat(user, ChatRequest.of(1, user + "-meanwhile").json()).block();
    assertThat(meanwhile.status()).isEqualTo(429);
    assertThat(meanwhile.json().path("limit_type").stringValue("")).isEqualTo("minute");

    VLLM.releaseAnswers();
    assertThat(greedy.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    long served = spent + prompt + 30;
    assertThat(settledUsage(user)).isEqualTo(new Usage(served, served, served, 0));
  }

  private CompletableFuture<Answer> send(String user, ChatRequest request) {
    return api.chat(user, request.json()).toFuture();
  }

  private Usage awaitInFlight(String user, int requests) {
    return await("%d request(s) of %s in flight".formatted(requests, user))
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> api.usage(user), usage -> usage.concurrent() == requests);
  }
}
