package io.simpletokenlimiter.e2e;

import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.testing.vllm.RecordedRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import reactor.core.publisher.Flux;

/**
 * Many requests of one user sent at once, spread over one or more replicas, in a mix of shapes:
 * with and without {@code max_tokens}, streamed and not. The fake vLLM reports exact usage:
 * completion = min(max_tokens, its answer length).
 */
final class TokenRace {

  /**
   * {@code token.limit.model.min-completion-tokens}: the least budget granted without max_tokens.
   */
  static final long MIN_COMPLETION = 16;

  private static final Duration DECIDED_WITHIN = Duration.ofSeconds(60);

  private final FakeVllm fake;
  private final String user;
  private final List<ApiClient> replicas;

  TokenRace(FakeVllm fake, String user, List<ApiClient> replicas) {
    this.fake = fake;
    this.user = user;
    this.replicas = List.copyOf(replicas);
  }

  /** The i-th request: four shapes in turn, and replicas in turn. */
  ChatRequest request(int i) {
    String tag = user + "#" + i;
    ChatRequest request =
        switch (i % 4) {
          case 0 -> ChatRequest.of(20, tag);
          case 1 -> ChatRequest.of(60, tag).streamed();
          case 2 -> ChatRequest.withoutMaxTokens(tag);
          default -> ChatRequest.withoutMaxTokens(tag).streamed();
        };
    return request;
  }

  /**
   * Every admitted request is held at the fake until every request has been decided: no reservation
   * is settled during the race, so what was admitted must be exactly what fits.
   */
  Result runHeld(int requests) {
    fake.holdAnswers();
    ConcurrentLinkedQueue<Outcome> finished = new ConcurrentLinkedQueue<>();
    CompletableFuture<List<Outcome>> all = fire(requests, finished);
    List<Outcome> decidedBeforeRelease;
    try {
      await("every request rejected or held at the fake")
          .atMost(DECIDED_WITHIN)
          .until(() -> finished.size() + atFake().size() == requests);
      decidedBeforeRelease = List.copyOf(finished);
    } finally {
      fake.releaseAnswers();
    }
    return new Result(join(all), atFake(), decidedBeforeRelease);
  }

  /** Requests race freely: answers settle, and free room, while others are being admitted. */
  Result runFree(int requests) {
    List<Outcome> outcomes = join(fire(requests, new ConcurrentLinkedQueue<>()));
    return new Result(outcomes, atFake(), List.of());
  }

  private CompletableFuture<List<Outcome>> fire(
      int requests, ConcurrentLinkedQueue<Outcome> finished) {
    return Flux.range(0, requests)
        .flatMap(
            i -> {
              ChatRequest request = request(i);
              return replicas
                  .get(i % replicas.size())
                  .chat(user, request.json())
                  .map(answer -> new Outcome(request, answer))
                  .doOnNext(finished::add);
            },
            requests)
        .collectList()
        .toFuture();
  }

  private static List<Outcome> join(CompletableFuture<List<Outcome>> all) {
    try {
      return all.get(DECIDED_WITHIN.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("the race did not end within " + DECIDED_WITHIN, e);
    }
  }

  /** Requests of this race the fake received, by tag. */
  List<RecordedRequest> atFake() {
    return fake.generationRequests().stream()
        .filter(request -> tagOf(request).startsWith(user + "#"))
        .toList();
  }

  static String tagOf(RecordedRequest request) {
    return request.json().path("user").stringValue("");
  }

  /** One request and the answer its client got. */
  record Outcome(ChatRequest request, Answer answer) {}

  /**
   * What happened.
   *
   * @param decidedBeforeRelease for a held race, the answers that came before any was released: the
   *     rejections
   */
  record Result(
      List<Outcome> outcomes, List<RecordedRequest> atFake, List<Outcome> decidedBeforeRelease) {

    List<Outcome> withStatus(int status) {
      return outcomes.stream().filter(o -> o.answer().status() == status).toList();
    }

    Map<String, RecordedRequest> atFakeByTag() {
      return atFake.stream().collect(Collectors.toMap(TokenRace::tagOf, Function.identity()));
    }

    /** Tokens the fake served: the usage it reported, summed. */
    long servedTokens() {
      return atFake.stream()
          .mapToLong(request -> request.reportedUsage().orElseThrow().totalTokens())
          .sum();
    }

    /** What the limiter reserved for each admitted request: prompt + the max_tokens it sent. */
    long reservedTokens(long countedPrompt) {
      return atFake.stream()
          .mapToLong(request -> countedPrompt + request.json().path("max_tokens").longValue())
          .sum();
    }
  }
}
