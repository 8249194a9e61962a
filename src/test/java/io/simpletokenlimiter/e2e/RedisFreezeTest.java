package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

/**
 * Redis frozen (SIGSTOP) for 3 s under load, two replicas with {@code fallback-memory}: the
 * fallback remembers what Redis last said. A user who had spent the minute gets no token through
 * during the freeze, a user with half the minute left gets at most that half across both replicas,
 * and what the outage admitted is in Redis once it answers again. Admissions the freeze kept from
 * being answered in time hold nothing once Redis thaws.
 */
@Timeout(120)
class RedisFreezeTest {

  private static final long MINUTE = 1_000;
  private static final int MAX_TOKENS = 20;

  private static RedisServerProcess redis;
  private static FakeVllm vllm;
  private static LimiterInstance replicaA;
  private static LimiterInstance replicaB;
  private static long prompt;

  @BeforeAll
  static void start() {
    redis = RedisServerProcess.start();
    vllm = FakeVllm.start();
    replicaA = LimiterInstance.start(properties());
    replicaB = LimiterInstance.start(properties());
    prompt = PromptProbe.countedPrompt(replicaA.api(), vllm, MINUTE);
    // Both replicas count each other before the freeze (a heartbeat a second): each one's
    // outage share is half of what Redis last left.
    for (LimiterInstance replica : List.of(replicaA, replicaB)) {
      await()
          .atMost(Duration.ofSeconds(15))
          .until(
              () ->
                  Pattern.compile("(?m)^limiter_redis_replicas(\\{[^}]*})? 2\\.0$")
                      .matcher(replica.api().get("/actuator/prometheus"))
                      .find());
    }
  }

  private static Map<String, String> properties() {
    return Map.ofEntries(
        Map.entry("token.limit.vllm-url", vllm.baseUrl()),
        Map.entry("token.limit.store", "redis"),
        Map.entry("spring.data.redis.host", redis.host()),
        Map.entry("spring.data.redis.port", Integer.toString(redis.port())),
        Map.entry("token.limit.redis.outage-policy", "fallback-memory"),
        Map.entry("token.limit.redis.command-timeout", "300ms"),
        Map.entry("token.limit.max-tokens-per-minute", Long.toString(MINUTE)),
        Map.entry("token.limit.max-concurrent-requests", "50"));
  }

  /** Each test begins on Redis: a freeze before it may have left a breaker open. */
  @BeforeEach
  void onRedis() {
    awaitBreakerClosed(replicaA);
    awaitBreakerClosed(replicaB);
  }

  @AfterAll
  static void stop() {
    if (redis.isRunning()) {
      redis.thaw();
    }
    replicaA.close();
    replicaB.close();
    vllm.close();
    redis.close();
  }

  @Test
  void theFallbackGrantsNoMoreThanWhatRedisLastLeft() {
    String spent = "spent-" + UUID.randomUUID();
    String half = "half-" + UUID.randomUUID();
    vllm.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(MAX_TOKENS);
    // Spend: the whole minute for one user, half of it for the other, through both replicas.
    spend(spent, MINUTE);
    spend(half, MINUTE / 2);
    for (ApiClient api : List.of(replicaA.api(), replicaB.api())) {
      assertThat(api.chat(spent, ChatRequest.of(MAX_TOKENS, spent).json()).block().status())
          .isEqualTo(429);
      assertThat(api.chat(half, ChatRequest.of(MAX_TOKENS, half).json()).block().status())
          .isEqualTo(200);
    }
    long halfBefore = replicaA.api().usage(half).minute();

    redis.freeze();
    long servedToHalf = 0;
    int servedToSpent = 0;
    int fallbackAnswers = 0;
    try {
      // The load: the timeouts of other users' requests open both breakers within one timeout.
      Flux.range(0, 20)
          .flatMap(
              i ->
                  (i % 2 == 0 ? replicaA : replicaB)
                      .api()
                      .chat("crowd-" + i, ChatRequest.of(MAX_TOKENS, "crowd").json()),
              20)
          .blockLast(Duration.ofSeconds(10));
      long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();
      while (System.nanoTime() < end) {
        for (ApiClient api : List.of(replicaA.api(), replicaB.api())) {
          Answer toSpent = api.chat(spent, ChatRequest.of(MAX_TOKENS, spent).json()).block();
          Answer toHalf = api.chat(half, ChatRequest.of(MAX_TOKENS, half).json()).block();
          servedToSpent += toSpent.status() == 200 ? 1 : 0;
          if (toHalf.status() == 200) {
            servedToHalf += prompt + MAX_TOKENS;
          }
          fallbackAnswers += toHalf.status() == 503 ? 0 : 1;
        }
      }
    } finally {
      redis.thaw();
    }

    assertThat(fallbackAnswers).as("answers decided while Redis was frozen").isPositive();
    assertThat(servedToSpent).as("requests served to the spent user").isZero();
    assertThat(servedToHalf).isLessThanOrEqualTo(MINUTE - halfBefore);
    // Back on Redis: what the outage admitted counts there too (written back at its reservations).
    long written = servedToHalf;
    // Each replica writes its outage back when its breaker closes; the states say which did not.
    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () ->
                assertThat(replicaB.api().usage(half).minute())
                    .as(
                        "usage on Redis (breakers: A %s, B %s)",
                        breakerState(replicaA), breakerState(replicaB))
                    .isGreaterThanOrEqualTo(halfBefore + written));
    // The crowd's admissions timed out (503) and ran in Redis once it thawed. Their releases timed
    // out too, all tries of most of them (a freeze of over 3 s), but were sent: they ran after.
    for (int i = 0; i < 20; i++) {
      ApiClient.Usage crowd = replicaB.api().usage("crowd-" + i);
      assertThat(crowd.concurrent()).as("slots held by crowd-%d", i).isZero();
      assertThat(crowd.minute()).as("tokens charged to crowd-%d", i).isZero();
    }
  }

  /**
   * Admissions whose answer Redis did not give in time: the scripts run once Redis thaws, and
   * record leases that nobody will settle. Each must be released, also those that timed out after
   * the timeouts opened the breaker; else they hold their slots, and are charged their
   * reservations, until they expire.
   */
  @Test
  void admissionsRedisAnsweredTooLateHoldNothingOnceItThaws() {
    String user = "late-" + UUID.randomUUID();
    vllm.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(MAX_TOKENS);

    redis.freeze();
    List<Answer> answers;
    try {
      answers =
          Flux.range(0, 20)
              .flatMap(i -> replicaA.api().chat(user, ChatRequest.of(MAX_TOKENS, user).json()), 20)
              .collectList()
              .block(Duration.ofSeconds(20));
    } finally {
      redis.thaw();
    }

    // 503 while the breaker waits for enough timeouts to open; once open, the fallback decides
    // (200 or 429) for any request that came later
    assertThat(answers).extracting(Answer::status).isSubsetOf(200, 429, 503).contains(503);
    long served = answers.stream().filter(a -> a.status() == 200).count() * (prompt + MAX_TOKENS);
    // Read on the replica that sent nothing during the freeze: its breaker stayed closed, so this
    // is Redis's count, not a fallback's.
    await()
        .atMost(Duration.ofSeconds(8))
        .untilAsserted(
            () -> {
              assertThat(breakerState(replicaB)).isEqualTo("closed");
              ApiClient.Usage usage = replicaB.api().usage(user);
              assertThat(usage.concurrent()).as("slots held").isZero();
              assertThat(usage.minute()).as("tokens charged").isEqualTo(served);
            });
  }

  /** A half-open breaker closes on the calls it lets through: each look asks Redis for usage. */
  private static void awaitBreakerClosed(LimiterInstance replica) {
    await()
        .atMost(Duration.ofSeconds(15))
        .until(
            () -> {
              replica.api().usage("breaker-probe");
              return breakerState(replica).equals("closed");
            });
  }

  /** The state {@code limiter_redis_breaker_state} marks with 1. */
  private static String breakerState(LimiterInstance replica) {
    Matcher state =
        Pattern.compile("(?m)^limiter_redis_breaker_state\\{[^}]*state=\"([a-z_]+)\"[^}]*} 1\\.0$")
            .matcher(replica.api().get("/actuator/prometheus"));
    return state.find() ? state.group(1) : "none";
  }

  /** Charges about {@code tokens} to {@code user} in requests of this test's size. */
  private static void spend(String user, long tokens) {
    long each = prompt + MAX_TOKENS;
    for (long spentSoFar = 0; spentSoFar + each <= tokens; spentSoFar += each) {
      ApiClient api = spentSoFar / each % 2 == 0 ? replicaA.api() : replicaB.api();
      assertThat(api.chat(user, ChatRequest.of(MAX_TOKENS, user).json()).block().status())
          .isEqualTo(200);
    }
  }
}
