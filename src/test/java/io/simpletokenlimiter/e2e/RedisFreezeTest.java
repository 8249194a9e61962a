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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Redis frozen (SIGSTOP) for 3 s under load, two replicas with {@code fallback-memory}: the
 * fallback remembers what Redis last said. A user who had spent the minute gets no token through
 * during the freeze, a user with half the minute left gets at most that half across both replicas,
 * and what the outage admitted is in Redis once it answers again.
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
    // Both replicas count each other before the freeze (heartbeats every 5 s).
    await()
        .atMost(Duration.ofSeconds(15))
        .until(
            () -> {
              try (var connection = redis.connect()) {
                return connection.callLong("ZCARD", "stl:replicas") == 2;
              }
            });
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
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> replicaB.api().usage(half).minute() >= halfBefore + written);
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
