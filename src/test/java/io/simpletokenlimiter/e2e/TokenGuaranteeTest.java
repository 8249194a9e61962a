package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.e2e.TokenRace.Outcome;
import io.simpletokenlimiter.e2e.TokenRace.Result;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.testing.vllm.RecordedRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SPEC §3.2 through real sockets, with the real limiter and the in-memory store: hundreds of one
 * user's requests race for the last tokens of a minute limit, and the model server never serves
 * more than the limit.
 */
@Timeout(120)
class TokenGuaranteeTest {

  private static final long MINUTE_LIMIT = 2_000;
  private static final int ANSWER_TOKENS = 40;

  /** Everything a test charges must stay in one rolling minute for its sums to be comparable. */
  private static final Duration ONE_WINDOW = Duration.ofSeconds(55);

  private static FakeVllm vllm;
  private static LimiterInstance replica;
  private static LimiterInstance waitingReplica;
  private static long prompt;

  private ApiClient api;
  private String user;

  @BeforeAll
  static void start() {
    vllm = FakeVllm.start();
    replica =
        LimiterInstance.start(
            Map.ofEntries(
                Map.entry("token.limit.vllm-url", vllm.baseUrl()),
                Map.entry("token.limit.max-tokens-per-minute", Long.toString(MINUTE_LIMIT)),
                // Only the minute limit is raced for; the in-flight limit is out of the way.
                Map.entry("token.limit.max-concurrent-requests", "1000")));
    prompt = PromptProbe.countedPrompt(replica.api(), vllm, MINUTE_LIMIT);
    // The same, where every request waits up to 3 s for room (issue 10).
    waitingReplica =
        LimiterInstance.start(
            Map.ofEntries(
                Map.entry("token.limit.vllm-url", vllm.baseUrl()),
                Map.entry("token.limit.max-tokens-per-minute", Long.toString(MINUTE_LIMIT)),
                Map.entry("token.limit.max-concurrent-requests", "1000"),
                Map.entry("token.limit.queue.max-wait", "3s"),
                Map.entry("token.limit.queue.max-waiting-per-user", "1000")));
  }

  @AfterAll
  static void stop() {
    replica.close();
    waitingReplica.close();
    vllm.close();
  }

  @BeforeEach
  void setUp() {
    api = replica.api();
    user = "racer-" + UUID.randomUUID();
    // vLLM reports as many prompt tokens as the limiter counted: the exact counter's case, and
    // the worst case for the byte bound.
    vllm.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(ANSWER_TOKENS);
  }

  @Test
  void heldRaceAdmitsExactlyWhatFitsAndRejectsTheRest() {
    Instant begin = Instant.now();
    long spent = spendSome();
    long room = MINUTE_LIMIT - spent;

    Result race = new TokenRace(vllm, user, List.of(api)).runHeld(240);

    // Before any admitted request was answered, every answer was a 429 that reached no one.
    assertThat(race.decidedBeforeRelease())
        .isNotEmpty()
        .allSatisfy(outcome -> assertRejectedByTheMinute(outcome.answer()));
    assertThat(race.withStatus(429)).hasSameSizeAs(race.decidedBeforeRelease());
    assertThat(race.withStatus(200)).hasSize(race.atFake().size());
    assertThat(race.withStatus(200).size() + race.withStatus(429).size()).isEqualTo(240);
    assertThat(tags(race.withStatus(200))).isEqualTo(race.atFakeByTag().keySet());

    // Admission is maximal: the admitted reservations fit the room, and what is left of it
    // cannot take even the cheapest request that was turned away.
    long reserved = race.reservedTokens(prompt);
    assertThat(reserved).isLessThanOrEqualTo(room);
    long cheapestRejected =
        race.withStatus(429).stream().mapToLong(this::leastCost).min().orElseThrow();
    assertThat(room - reserved).isLessThan(cheapestRejected);
    assertThat(race.atFake())
        .allSatisfy(
            received ->
                assertThat(received.json().path("max_tokens").longValue())
                    .isGreaterThanOrEqualTo(TokenRace.MIN_COMPLETION));

    assertServedWithinTheLimitAndChargedExactly(race, spent, begin);
  }

  @Test
  void freeRaceNeverServesMoreThanTheLimit() {
    freeRace();
  }

  /** Requests that wait for the room that settles give back are admitted, within the limit. */
  @Test
  void freeRaceWithWaitingNeverServesMoreThanTheLimit() {
    api = waitingReplica.api();
    freeRace();
    assertThat(api.get("/actuator/prometheus"))
        .as("some requests were admitted after waiting")
        .containsPattern("(?m)^request_wait_seconds_count\\{outcome=\"admitted\"} [1-9]");
  }

  private void freeRace() {
    vllm.answerDelay(Duration.ofMillis(20)).chunkDelay(Duration.ofMillis(2));
    Instant begin = Instant.now();
    long spent = spendSome();

    Result race = new TokenRace(vllm, user, List.of(api)).runFree(300);

    assertThat(race.withStatus(200)).isNotEmpty();
    assertThat(race.withStatus(429))
        .isNotEmpty()
        .allSatisfy(outcome -> assertRejectedByTheMinute(outcome.answer()));
    assertThat(race.withStatus(200).size() + race.withStatus(429).size()).isEqualTo(300);
    Map<String, RecordedRequest> atFake = race.atFakeByTag();
    assertThat(atFake.keySet()).isEqualTo(tags(race.withStatus(200)));
    // Each client saw the usage the model server reported for its own request.
    for (Outcome outcome : race.withStatus(200)) {
      RecordedRequest received = atFake.get(outcome.request().tag());
      assertThat(received.completed()).isTrue();
      if (outcome.request().stream()) {
        assertThat(outcome.answer().body()).endsWith("data: [DONE]\n\n");
      } else {
        assertThat(outcome.answer().json().path("usage").path("total_tokens").longValue())
            .isEqualTo(received.reportedUsage().orElseThrow().totalTokens());
      }
    }

    assertServedWithinTheLimitAndChargedExactly(race, spent, begin);
  }

  /** One answered request first, so that the race is for what is left of the minute. */
  private long spendSome() {
    Answer first = api.chat(user, ChatRequest.of(300, user + "-first").json()).block();
    assertThat(first.status()).isEqualTo(200);
    return first.json().path("usage").path("total_tokens").longValue();
  }

  private void assertServedWithinTheLimitAndChargedExactly(
      Result race, long spentBefore, Instant begin) {
    ApiClient.Usage usage =
        await("every request of " + user + " settled")
            .atMost(Duration.ofSeconds(10))
            .until(() -> api.usage(user), u -> u.concurrent() == 0);
    // A premise of the exact check below, not a speed check: a race of seconds, a minute's room.
    assertThat(Duration.between(begin, Instant.now()))
        .as("the whole test ran within one rolling minute")
        .isLessThan(ONE_WINDOW);

    long served = spentBefore + race.servedTokens();
    assertThat(served).isLessThanOrEqualTo(MINUTE_LIMIT);
    assertThat(usage).isEqualTo(new ApiClient.Usage(served, served, served, 0));
  }

  private long leastCost(Outcome rejected) {
    return prompt + rejected.request().maxTokens().orElse((int) TokenRace.MIN_COMPLETION);
  }

  private static void assertRejectedByTheMinute(Answer answer) {
    assertThat(answer.status()).as("answer %s", answer).isEqualTo(429);
    assertThat(answer.json().path("error").stringValue("")).isEqualTo("rate_limit_exceeded");
    assertThat(answer.json().path("limit_type").stringValue("")).isEqualTo("minute");
  }

  private static Set<String> tags(List<Outcome> outcomes) {
    return outcomes.stream().map(o -> o.request().tag()).collect(Collectors.toSet());
  }
}
