package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.testing.vllm.RecordedRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;

/**
 * SPEC §3.5: whatever ends a request — the client hanging up, vLLM failing, down or silent — its
 * in-flight slot comes back. Each test ends two requests of a user (limit 2) one bad way, then
 * shows the user can again run two at once, that a third is refused as {@code concurrent}, and that
 * another user is not affected meanwhile.
 */
class SlotLeakTest extends MemoryReplicaTest {

  @Test
  void afterTheClientHangsUpMidStream() {
    String user = newUser("leaver");
    VLLM.holdLastChunk();

    for (int i = 0; i < MAX_CONCURRENT; i++) {
      String body = ChatRequest.of(30, user + "#" + i).streamed().json();
      // Read until the 29th token has arrived (the 30th is held), then go away.
      String received = api.chatThenHangUp(user, body, "tok29 ");
      assertThat(received).startsWith("HTTP/1.1 200").doesNotContain("tok30");
    }

    awaitUpstreamCancelled(user, MAX_CONCURRENT);
    // Charged what was produced when the client left: the prompt and 29 tokens, each.
    long charged = MAX_CONCURRENT * (prompt + 29);
    assertThat(settledUsage(user)).isEqualTo(new ApiClient.Usage(charged, charged, charged, 0));
    assertRunsTwoAtOnceAndNoMore(user);
  }

  @Test
  void afterTheClientHangsUpBeforeTheAnswer() {
    String user = newUser("impatient");
    VLLM.holdAnswers();

    List<Disposable> calls =
        List.of(
            api.chat(user, ChatRequest.of(30, user + "#0").json()).subscribe(),
            api.chat(user, ChatRequest.of(30, user + "#1").streamed().json()).subscribe());
    awaitAtFake(user + "#", MAX_CONCURRENT);
    calls.forEach(Disposable::dispose);

    awaitUpstreamCancelled(user, MAX_CONCURRENT);
    // docs/limits.md: the abandoned non-streamed request is charged its whole reservation (vLLM
    // does not say how much it had generated), the stream cut before any chunk its prompt.
    long charged = (prompt + 30) + prompt;
    assertThat(settledUsage(user)).isEqualTo(new ApiClient.Usage(charged, charged, charged, 0));
    assertRunsTwoAtOnceAndNoMore(user);
  }

  @Test
  void afterVllmAnswers500() {
    String user = newUser("server-error");
    VLLM.mode(FakeVllm.Mode.FAIL_500);

    assertTwoFailuresChargeNothing(user);

    assertRunsTwoAtOnceAndNoMore(user);
  }

  @Test
  void afterVllmIsDown() {
    String user = newUser("no-vllm");
    VLLM.down();
    try {
      assertTwoFailuresChargeNothing(user);
    } finally {
      VLLM.up();
    }
    assertRunsTwoAtOnceAndNoMore(user);
  }

  @Test
  void afterVllmSendsNothingUntilTheFirstByteTimeout() {
    String user = newUser("hung");
    VLLM.mode(FakeVllm.Mode.HANG);

    assertTwoFailuresChargeNothing(user);

    assertRunsTwoAtOnceAndNoMore(user);
  }

  @Test
  void afterAStreamStallsPastTheIdleTimeout() {
    String user = newUser("stalled");
    // vLLM sends 29 tokens, then nothing: the idle timeout ends both streams.
    VLLM.holdLastChunk();

    List<Answer> answers = twoAtOnce(user, request -> request.streamed());

    assertThat(answers)
        .allSatisfy(
            answer -> {
              assertThat(answer.status()).isEqualTo(200);
              assertThat(answer.body()).contains("tok29 ").contains("\"model_service_error\"");
            });
    // Charged what vLLM had reported when it stalled: the prompt and 29 tokens, each.
    long charged = MAX_CONCURRENT * (prompt + 29);
    assertThat(settledUsage(user)).isEqualTo(new ApiClient.Usage(charged, charged, charged, 0));
    assertRunsTwoAtOnceAndNoMore(user);
  }

  /** Two requests at once fail upstream: 503 for both, and nothing is charged. */
  private void assertTwoFailuresChargeNothing(String user) {
    List<Answer> answers = twoAtOnce(user, Function.identity());

    assertThat(answers)
        .allSatisfy(
            answer -> {
              assertThat(answer.status()).isEqualTo(503);
              assertThat(answer.error()).isEqualTo("model_service_error");
            });
    assertThat(settledUsage(user)).isEqualTo(new ApiClient.Usage(0, 0, 0, 0));
  }

  /** Two requests of the user at once, one streamed, one not (before {@code shape}). */
  private List<Answer> twoAtOnce(String user, Function<ChatRequest, ChatRequest> shape) {
    return Flux.merge(
            api.chat(user, shape.apply(ChatRequest.of(30, user + "#0")).json()),
            api.chat(user, shape.apply(ChatRequest.of(30, user + "#1").streamed()).json()))
        .collectList()
        .block(ApiClient.CALL_TIMEOUT);
  }

  private void awaitUpstreamCancelled(String user, int requests) {
    await("vLLM told to stop %d requests of %s".formatted(requests, user))
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                VLLM.generationRequests().stream()
                        .filter(request -> TokenRace.tagOf(request).startsWith(user + "#"))
                        .filter(RecordedRequest::cancelled)
                        .count()
                    == requests);
  }

  /** The user gets both slots, not a third; another user is admitted meanwhile. */
  private void assertRunsTwoAtOnceAndNoMore(String user) {
    VLLM.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(30).holdAnswers();
    String tag = user + "-after-";
    List<CompletableFuture<Answer>> running =
        List.of(
            api.chat(user, ChatRequest.of(5, tag + 0).json()).toFuture(),
            api.chat(user, ChatRequest.of(5, tag + 1).streamed().json()).toFuture());
    awaitAtFake(tag, MAX_CONCURRENT);

    Answer third = api.chat(user, ChatRequest.of(5, tag + 2).json()).block();
    assertThat(third.status()).isEqualTo(429);
    assertThat(third.json().path("limit_type").stringValue("")).isEqualTo("concurrent");
    assertThat(third.json().path("retry_after").intValue()).isEqualTo(1);
    assertThat(third.header("x-ratelimit-remaining-requests")).isEqualTo("0");

    String other = newUser("bystander");
    CompletableFuture<Answer> unaffected =
        api.chat(other, ChatRequest.of(5, other + "-0").json()).toFuture();
    awaitAtFake(other, 1);

    VLLM.releaseAnswers();
    assertThat(List.of(running.get(0), running.get(1), unaffected))
        .allSatisfy(
            answer -> {
              assertThat(answer.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
              assertThat(answer.get().body()).doesNotContain("error");
            });
    assertThat(VLLM.generationRequests()).extracting(TokenRace::tagOf).doesNotContain(tag + 2);
    assertThat(settledUsage(user).concurrent()).isZero();
  }
}
