package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.testing.vllm.RecordedRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.http.HttpHeaders;
import reactor.core.publisher.Flux;

/**
 * The model's capacity shared in turns (issue 10), through real sockets on the memory store: with
 * four requests in flight to a slow fake vLLM at most, who goes next is chosen across users, not by
 * arrival, and a tier's share sets how many turns its users take in a row, whether the share is set
 * in {@code token.limit.queue.shares.<tier>} or, winning over it, on the tier in the overrides
 * file.
 */
@Timeout(120)
class CapacityFairnessTest {

  private static final int CAPACITY = 4;
  private static final Duration SERVICE_TIME = Duration.ofMillis(500);

  private static final FakeVllm VLLM = FakeVllm.start();
  private static LimiterInstance replica;

  private String run;

  @BeforeAll
  static void start() {
    String limits =
        """
        tiers:
          gold: {max-concurrent-requests: 64}
          free: {max-concurrent-requests: 64}
          pro: {max-concurrent-requests: 64, share: 2}
          basic: {max-concurrent-requests: 64}
        users:
          gold-user: gold
          free-user: free
          pro-user: pro
          basic-user: basic
        """;
    replica =
        LimiterInstance.start(
            Map.ofEntries(
                Map.entry("token.limit.vllm-url", VLLM.baseUrl()),
                Map.entry("token.limit.max-tokens-per-minute", "-1"),
                Map.entry("token.limit.max-tokens-per-hour", "-1"),
                Map.entry("token.limit.max-tokens-per-day", "-1"),
                Map.entry("token.limit.max-concurrent-requests", "64"),
                Map.entry("token.limit.upstream.max-in-flight", Integer.toString(CAPACITY)),
                Map.entry("token.limit.queue.shares.gold", "2"),
                // The overrides file gives pro a share of 2, which wins over this.
                Map.entry("token.limit.queue.shares.pro", "5"),
                Map.entry(
                    "token.limit.overrides-file",
                    LimiterInstance.overridesFile(limits).toString())));
  }

  @AfterAll
  static void stop() {
    replica.close();
    VLLM.close();
  }

  @BeforeEach
  void setUp() {
    run = UUID.randomUUID().toString().substring(0, 8);
    VLLM.reset().answerTokens(10).answerDelay(SERVICE_TIME);
  }

  /** A failed test leaves no request behind to crowd the next one's model. */
  @AfterEach
  void drain() {
    VLLM.releaseAnswers();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> WaitingTest.waiting(replica.api()) == 0 && inFlightToTheModel() == 0);
  }

  @Test
  void aLightUserIsNotQueuedBehindAHeavyUsersBacklog() throws Exception {
    ApiClient api = replica.api();
    String heavy = "heavy-" + run;
    String light = "light-" + run;
    VLLM.answerDelay(Duration.ZERO).holdAnswers();
    CompletableFuture<List<Answer>> flood = flood(api, heavy, 40);
    await().atMost(Duration.ofSeconds(10)).until(() -> WaitingTest.waiting(api) == 40 - CAPACITY);

    List<CompletableFuture<Answer>> lights = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      // The model is full and holds its answers: the light request joins the queue behind the
      // heavy user's backlog before any slot frees.
      int atFake = VLLM.generationRequests().size();
      double waiting = WaitingTest.waiting(api);
      lights.add(api.chat(light, chat(light + "#" + i), wait60()).toFuture());
      await().atMost(Duration.ofSeconds(10)).until(() -> WaitingTest.waiting(api) == waiting + 1);

      // Every slot frees at once; the requests that take them are held in turn. Going by turns,
      // the light request is among them; in arrival order it would wait for the whole backlog.
      VLLM.releaseHeldAnswers();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> VLLM.generationRequests().size() == atFake + CAPACITY);
      assertThat(VLLM.generationRequests().subList(atFake, atFake + CAPACITY))
          .as("the requests that took the %d slots freed after light request %d", CAPACITY, i)
          .extracting(TokenRace::tagOf)
          .contains(light + "#" + i);
    }
    assertThat(WaitingTest.waiting(api))
        .as("the heavy user's backlog, still waiting after the light user's last request")
        .isEqualTo(40 - CAPACITY - 4 * (CAPACITY - 1));

    VLLM.releaseAnswers();
    assertThat(flood.get(60, TimeUnit.SECONDS))
        .allSatisfy(a -> assertThat(a.status()).isEqualTo(200));
    assertThat(lights)
        .allSatisfy(a -> assertThat(a.get(60, TimeUnit.SECONDS).status()).isEqualTo(200));
  }

  @Test
  void twoFloodingUsersGetTurnsInTheRatioOfTheirTiersShares() throws Exception {
    long goldTurns = turnsOfTheFirst("gold-user", "free-user");
    System.out.printf("shares 2:1, 24 turns: gold %d, free %d%n", goldTurns, 24 - goldTurns);
    assertThat(goldTurns).isBetween(14L, 18L);
  }

  @Test
  void aTiersShareInTheOverridesFileSetsItsTurnsOverTheProperty() throws Exception {
    // pro: share 2 in the file (5 in token.limit.queue.shares.pro); basic: none, so 1. At 5:1 pro
    // would take 20 of 24 turns.
    long proTurns = turnsOfTheFirst("pro-user", "basic-user");
    System.out.printf("file shares 2:1, 24 turns: pro %d, basic %d%n", proTurns, 24 - proTurns);
    assertThat(proTurns).isBetween(14L, 18L);
  }

  /**
   * Floods the model with 30 requests of each user at once, and counts {@code first}'s turns among
   * the 24 given while both users had a backlog.
   */
  private long turnsOfTheFirst(String first, String second) throws Exception {
    ApiClient api = replica.api();
    VLLM.holdAnswers();
    CompletableFuture<List<Answer>> firsts = flood(api, first, 30);
    CompletableFuture<List<Answer>> seconds = flood(api, second, 30);
    await().atMost(Duration.ofSeconds(10)).until(() -> WaitingTest.waiting(api) == 60 - CAPACITY);
    VLLM.releaseAnswers();

    assertThat(firsts.get(60, TimeUnit.SECONDS))
        .allSatisfy(a -> assertThat(a.status()).isEqualTo(200));
    assertThat(seconds.get(60, TimeUnit.SECONDS))
        .allSatisfy(a -> assertThat(a.status()).isEqualTo(200));
    List<String> admitted =
        VLLM.generationRequests().stream()
            .sorted(Comparator.comparing(RecordedRequest::receivedAt))
            .map(TokenRace::tagOf)
            .toList();
    // After the first slots, taken without waiting, 24 turns while both users had a backlog.
    List<String> turns = admitted.subList(CAPACITY, CAPACITY + 24);
    return turns.stream().filter(tag -> tag.startsWith(first + "#")).count();
  }

  @Test
  void theCapacityCountsEveryReplicaOnOneRedis() throws Exception {
    RedisServerProcess redis = SharedRedis.standalone();
    Map<String, String> properties =
        Map.ofEntries(
            Map.entry("token.limit.vllm-url", VLLM.baseUrl()),
            Map.entry("token.limit.store", "redis"),
            Map.entry("spring.data.redis.host", redis.host()),
            Map.entry("spring.data.redis.port", Integer.toString(redis.port())),
            Map.entry("token.limit.upstream.max-in-flight", "2"),
            // Two cold replicas' first requests at once may take Redis replies past the default
            // 500 ms on a busy machine, and a timed-out admission is an error: the subject here is
            // the capacity counted across replicas, not the outage policy.
            Map.entry("token.limit.redis.command-timeout", "3s"));
    try (LimiterInstance a = LimiterInstance.start(properties);
        LimiterInstance b = LimiterInstance.start(properties)) {
      VLLM.reset().answerTokens(10).holdAnswers();
      String user = "spread-" + run;
      CompletableFuture<Answer> first = a.api().chat(user, chat(user + "#0")).toFuture();
      CompletableFuture<Answer> second = b.api().chat(user, chat(user + "#1")).toFuture();
      await().atMost(Duration.ofSeconds(10)).until(() -> VLLM.generationRequests().size() == 2);

      Answer full = a.api().chat("other-" + run, chat("other#0")).block();
      assertThat(full.status()).isEqualTo(429);
      assertThat(full.json().path("limit_type").stringValue("")).isEqualTo("capacity");
      assertThat(full.json().has("scope")).as("the capacity is nobody's own limit").isFalse();
      assertThat(full.json().path("retry_after").longValue()).isPositive();
      assertThat(full.header("x-ratelimit-limit-requests")).isNotEmpty();

      CompletableFuture<Answer> waiting =
          b.api().chat("other-" + run, chat("other#1"), wait60()).toFuture();
      await().atMost(Duration.ofSeconds(10)).until(() -> WaitingTest.waiting(b.api()) == 1);
      VLLM.releaseAnswers();
      assertThat(first.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(second.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(waiting.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(a.api().get("/actuator/prometheus"))
          .containsPattern("(?m)^rate_limit_exceeded_total\\{limit_type=\"capacity\"} 1\\.0$");
    }
  }

  private static String chat(String tag) {
    return ChatRequest.of(10, tag).json();
  }

  private static CompletableFuture<List<Answer>> flood(ApiClient api, String user, int count) {
    return Flux.range(0, count)
        .flatMap(i -> api.chat(user, ChatRequest.of(10, user + "#" + i).json(), wait60()), count)
        .collectList()
        .toFuture();
  }

  private static double inFlightToTheModel() {
    return VLLM.generationRequests().stream().filter(r -> !r.completed() && !r.cancelled()).count();
  }

  private static HttpHeaders wait60() {
    HttpHeaders headers = new HttpHeaders();
    headers.set("X-Max-Wait", "60");
    return headers;
  }
}
