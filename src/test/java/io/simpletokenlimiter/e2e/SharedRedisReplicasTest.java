package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.e2e.ApiClient.Usage;
import io.simpletokenlimiter.e2e.TokenRace.Result;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.SeverableLink;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Two replicas sharing one real redis-server ({@code token.limit.store=redis}): the limits hold
 * across both as if they were one, and the slots of a replica that dies come back by themselves.
 * Replica A reaches Redis through a {@link SeverableLink}, so that the last test can cut it off as
 * a crash or a network partition would.
 */
@Timeout(120)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SharedRedisReplicasTest {

  private static final long MINUTE_LIMIT = 2_000;
  private static final int MAX_CONCURRENT = 3;
  private static final Duration LEASE_TTL = Duration.ofSeconds(3);
  private static final Duration ONE_WINDOW = Duration.ofSeconds(55);
  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  private static final String HELD_RACER = "held-racer-" + RUN;
  private static final String FREE_RACER = "free-racer-" + RUN;

  private static RedisServerProcess redis;
  private static SeverableLink linkOfA;
  private static FakeVllm vllm;
  private static LimiterInstance replicaA;
  private static LimiterInstance replicaB;
  private static long prompt;

  private ApiClient a;
  private ApiClient b;

  @BeforeAll
  static void start() {
    redis = RedisServerProcess.start();
    linkOfA = SeverableLink.to(redis.host(), redis.port());
    vllm = FakeVllm.start();
    Path overrides =
        LimiterInstance.overridesFile(
            """
            users:
              %s: {max-concurrent-requests: 1000}
              %s: {max-concurrent-requests: 1000}
            """
                .formatted(HELD_RACER, FREE_RACER));
    replicaA = LimiterInstance.start(properties(linkOfA.host(), linkOfA.port(), overrides));
    replicaB = LimiterInstance.start(properties(redis.host(), redis.port(), overrides));
    prompt = PromptProbe.countedPrompt(replicaB.api(), vllm, MINUTE_LIMIT);
  }

  private static Map<String, String> properties(String redisHost, int redisPort, Path overrides) {
    return Map.ofEntries(
        Map.entry("token.limit.vllm-url", vllm.baseUrl()),
        Map.entry("token.limit.store", "redis"),
        Map.entry("spring.data.redis.host", redisHost),
        Map.entry("spring.data.redis.port", Integer.toString(redisPort)),
        Map.entry("token.limit.lease-ttl", LEASE_TTL.toMillis() + "ms"),
        // A cold replica's first burst on two shared cores takes Redis replies past the default
        // 250 ms, and a timed-out admission is then decided by memory, which knows nothing of
        // what Redis counted (RedisOutageOverHttpTest shows it). The subject here is the shared
        // count itself.
        Map.entry("token.limit.redis.command-timeout", "3s"),
        Map.entry("token.limit.max-tokens-per-minute", Long.toString(MINUTE_LIMIT)),
        Map.entry("token.limit.max-concurrent-requests", Integer.toString(MAX_CONCURRENT)),
        Map.entry("token.limit.overrides-file", overrides.toString()));
  }

  @AfterAll
  static void stop() {
    replicaA.close();
    replicaB.close();
    vllm.close();
    linkOfA.close();
    redis.close();
  }

  @BeforeEach
  void setUp() {
    a = replicaA.api();
    b = replicaB.api();
    vllm.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(40);
  }

  @Test
  @Order(1)
  void heldRaceOverBothReplicasAdmitsExactlyWhatFits() {
    Instant begin = Instant.now();

    Result race = new TokenRace(vllm, HELD_RACER, List.of(a, b)).runHeld(200);

    assertThat(race.decidedBeforeRelease())
        .isNotEmpty()
        .allSatisfy(outcome -> assertThat(outcome.answer().status()).isEqualTo(429));
    assertThat(race.withStatus(200)).hasSize(race.atFake().size());
    assertThat(race.withStatus(200).size() + race.withStatus(429).size()).isEqualTo(200);
    long reserved = race.reservedTokens(prompt);
    assertThat(reserved).isLessThanOrEqualTo(MINUTE_LIMIT);
    long cheapestRejected =
        race.withStatus(429).stream()
            .mapToLong(o -> prompt + o.request().maxTokens().orElse((int) TokenRace.MIN_COMPLETION))
            .min()
            .orElseThrow();
    assertThat(MINUTE_LIMIT - reserved).isLessThan(cheapestRejected);
    // Each replica sent half and refused most of its half: the room was shared, not doubled.
    assertThat(race.withStatus(429).stream().map(o -> replicaOf(o.request().tag())).distinct())
        .containsExactlyInAnyOrder(0, 1);

    assertServedWithinTheLimitAndReadTheSameOnBoth(HELD_RACER, race, begin);
  }

  @Test
  @Order(2)
  void freeRaceOverBothReplicasNeverServesMoreThanTheLimit() {
    vllm.answerDelay(Duration.ofMillis(20)).chunkDelay(Duration.ofMillis(2));
    Instant begin = Instant.now();

    Result race = new TokenRace(vllm, FREE_RACER, List.of(a, b)).runFree(200);

    assertThat(race.withStatus(200)).isNotEmpty();
    assertThat(race.withStatus(429))
        .isNotEmpty()
        .allSatisfy(
            outcome ->
                assertThat(outcome.answer().json().path("limit_type").stringValue(""))
                    .isEqualTo("minute"));
    assertThat(race.withStatus(200).size() + race.withStatus(429).size()).isEqualTo(200);
    assertThat(race.atFakeByTag().keySet())
        .isEqualTo(
            race.withStatus(200).stream().map(o -> o.request().tag()).collect(Collectors.toSet()));

    assertServedWithinTheLimitAndReadTheSameOnBoth(FREE_RACER, race, begin);
  }

  @Test
  @Order(3)
  void theInFlightLimitCountsRequestsOfBothReplicas() throws Exception {
    String user = "juggler-" + UUID.randomUUID();
    vllm.holdAnswers();

    List<CompletableFuture<Answer>> running =
        List.of(
            a.chat(user, ChatRequest.of(10, user + "#0").json()).toFuture(),
            a.chat(user, ChatRequest.of(10, user + "#1").streamed().json()).toFuture(),
            b.chat(user, ChatRequest.of(10, user + "#2").json()).toFuture());
    awaitAtFake(user + "#", 3);

    for (ApiClient replica : List.of(a, b)) {
      Answer refused = replica.chat(user, ChatRequest.of(10, user + "-refused").json()).block();
      assertThat(refused.status()).isEqualTo(429);
      assertThat(refused.json().path("limit_type").stringValue("")).isEqualTo("concurrent");
    }
    Usage held = new Usage(3 * (prompt + 10), 3 * (prompt + 10), 3 * (prompt + 10), 3);
    assertThat(a.usage(user)).isEqualTo(held);
    assertThat(b.usage(user)).isEqualTo(held);

    vllm.releaseAnswers();
    for (CompletableFuture<Answer> answer : running) {
      assertThat(answer.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    }
    long served = 3 * (prompt + 10);
    Usage settled = settledUsage(b, user);
    assertThat(settled).isEqualTo(new Usage(served, served, served, 0));
    assertThat(a.usage(user)).isEqualTo(settled);
  }

  /**
   * Replica A admits three requests (the user's whole in-flight limit) and is then cut off from
   * Redis and closed, without settling them. B refuses the user as {@code concurrent} until the
   * leases expire ({@code lease-ttl} after A's last renewal), then admits again. An expired lease
   * is charged its whole reservation (prompt + max_tokens): nobody knows what A served.
   */
  @Test
  @Order(Integer.MAX_VALUE)
  void theSlotsOfAReplicaThatDiedComeBackWhenTheirLeasesExpire() {
    String user = "orphaned-" + UUID.randomUUID();
    vllm.holdAnswers();
    for (int i = 0; i < MAX_CONCURRENT; i++) {
      a.chat(user, ChatRequest.of(100, user + "#" + i).json()).subscribe(answer -> {}, e -> {});
    }
    awaitAtFake(user + "#", MAX_CONCURRENT);

    linkOfA.sever();
    Answer whileLeased = b.chat(user, ChatRequest.of(100, user + "-b1").json()).block();
    replicaA.close();

    assertThat(whileLeased.status()).isEqualTo(429);
    assertThat(whileLeased.json().path("limit_type").stringValue("")).isEqualTo("concurrent");
    Usage afterExpiry =
        await("A's leases expired in Redis")
            .atMost(LEASE_TTL.multipliedBy(5))
            .pollInterval(Duration.ofMillis(200))
            .until(() -> b.usage(user), usage -> usage.concurrent() == 0);
    long wholeReservations = MAX_CONCURRENT * (prompt + 100);
    assertThat(afterExpiry)
        .isEqualTo(new Usage(wholeReservations, wholeReservations, wholeReservations, 0));

    vllm.releaseAnswers();
    Answer afterwards = b.chat(user, ChatRequest.of(100, user + "-b2").json()).block();
    assertThat(afterwards.status()).isEqualTo(200);
  }

  private void assertServedWithinTheLimitAndReadTheSameOnBoth(
      String user, Result race, Instant begin) {
    Usage onB = settledUsage(b, user);
    Usage onA = a.usage(user);
    assertThat(Duration.between(begin, Instant.now()))
        .as("the race ran within one rolling minute (a premise, not a speed check)")
        .isLessThan(ONE_WINDOW);
    long served = race.servedTokens();
    assertThat(served).isLessThanOrEqualTo(MINUTE_LIMIT);
    assertThat(onB).isEqualTo(new Usage(served, served, served, 0));
    assertThat(onA).isEqualTo(onB);
  }

  /** Which replica a race request went to: they take turns. */
  private static int replicaOf(String tag) {
    return Integer.parseInt(tag.substring(tag.lastIndexOf('#') + 1)) % 2;
  }

  private static Usage settledUsage(ApiClient replica, String user) {
    return await("no request of " + user + " in flight")
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> replica.usage(user), usage -> usage.concurrent() == 0);
  }

  private static void awaitAtFake(String tagPrefix, int count) {
    await("%d requests tagged %s at the fake".formatted(count, tagPrefix))
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                vllm.generationRequests().stream()
                        .filter(request -> TokenRace.tagOf(request).startsWith(tagPrefix))
                        .count()
                    >= count);
  }
}
