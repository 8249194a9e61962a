package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.e2e.ApiClient.Usage;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.limit.store.redis.ResilientLimitStore;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

/**
 * Issue 14: the whole service, started with each way an operator may configure the store, counts
 * where the rule says. The brief's {@code REDIS_HOST}/{@code REDIS_PORT} are passed as properties
 * of those very names: Spring's environment resolves them exactly as it resolves the environment
 * variables ({@code StoreSelectionTest} reads them from a system-environment source). {@code
 * TOKEN_LIMIT_STORE} is passed as {@code token.limit.store}: only the system environment maps the
 * one name onto the other.
 */
@Timeout(120)
class StoreSelectionOverHttpTest {

  private static RedisServerProcess redis;
  private static FakeVllm vllm;

  @BeforeAll
  static void start() {
    redis = RedisServerProcess.start();
    vllm = FakeVllm.start();
  }

  @AfterAll
  static void stop() {
    vllm.close();
    redis.close();
  }

  @Test
  void nothingConfiguredCountsInMemory() {
    try (LimiterInstance instance = LimiterInstance.start(settings(Map.of()))) {
      assertStore(instance, "memory", "no Redis server is configured");
    }
  }

  @Test
  void redisHostAloneCountsInRedis() {
    try (LimiterInstance instance = LimiterInstance.start(servingOnRedis(briefsRedis()))) {
      assertStore(instance, "redis", "REDIS_HOST is set");
      assertServes(instance);
    }
  }

  @Test
  void springsPropertyAloneCountsInRedis() {
    Map<String, String> spring =
        Map.of(
            "spring.data.redis.host", redis.host(),
            "spring.data.redis.port", Integer.toString(redis.port()));
    try (LimiterInstance instance = LimiterInstance.start(servingOnRedis(spring))) {
      assertStore(instance, "redis", "spring.data.redis.host is set");
      assertServes(instance);
    }
  }

  @Test
  void memoryChosenWinsOverAConfiguredRedis() {
    Map<String, String> memory = new LinkedHashMap<>(briefsRedis());
    memory.put("token.limit.store", "memory");
    try (LimiterInstance instance = LimiterInstance.start(settings(memory))) {
      JsonNode store = assertStore(instance, "memory", "TOKEN_LIMIT_STORE) is memory");
      assertThat(store.path("redis").stringValue("")).endsWith(":" + redis.port());
    }
  }

  @Test
  void redisChosenCountsInRedis() {
    Map<String, String> chosen = new LinkedHashMap<>(briefsRedis());
    chosen.put("token.limit.store", "redis");
    try (LimiterInstance instance = LimiterInstance.start(servingOnRedis(chosen))) {
      assertStore(instance, "redis", "TOKEN_LIMIT_STORE) is redis");
      assertServes(instance);
    }
  }

  /** The issue's failing check: two instances given only REDIS_HOST/REDIS_PORT. */
  @Test
  void twoInstancesGivenOnlyRedisHostShareOneMinuteLimit() {
    Map<String, String> limited = new LinkedHashMap<>(briefsRedis());
    limited.put("MAX_TOKENS_MINUTE", "1000");
    // A cold instance's first Redis replies may be slow on a busy machine; the subject here is
    // the shared count, not the outage policy.
    limited.put("token.limit.redis.command-timeout", "3s");
    try (LimiterInstance a = LimiterInstance.start(settings(limited));
        LimiterInstance b = LimiterInstance.start(settings(limited))) {
      String user = "shared-" + UUID.randomUUID();
      vllm.reset().promptTokens(30).answerTokens(100);
      Answer last = null;
      int served = 0;
      for (int i = 0; i < 20; i++) {
        last = a.api().chat(user, ChatRequest.of(100, user + "#" + i).json()).block();
        if (last.status() != 200) {
          break;
        }
        served++;
      }
      assertThat(served).isPositive();
      assertThat(last.status()).isEqualTo(429);
      assertThat(last.json().path("limit_type").stringValue("")).isEqualTo("minute");

      Usage onA = a.api().usage(user);
      assertThat(b.api().usage(user)).isEqualTo(onA);
      assertThat(onA.minute()).isPositive();
      Answer onB = b.api().chat(user, ChatRequest.of(100, user + "-b").json()).block();
      assertThat(onB.status()).isEqualTo(429);
      assertThat(onB.json().path("limit_type").stringValue("")).isEqualTo("minute");
    }
  }

  private static Map<String, String> briefsRedis() {
    return Map.of("REDIS_HOST", redis.host(), "REDIS_PORT", Integer.toString(redis.port()));
  }

  private static Map<String, String> settings(Map<String, String> store) {
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("token.limit.vllm-url", vllm.baseUrl());
    settings.putAll(store);
    return settings;
  }

  /**
   * {@link #settings} for an instance that must serve on Redis ({@link #assertServes}): its first
   * request, on a cold instance (its event loops' own connections), may take Redis replies past the
   * default 500 ms on a busy machine, and a timed-out admission is an error. The subject here is
   * where the counters live; the command timeout selects nothing.
   */
  private static Map<String, String> servingOnRedis(Map<String, String> store) {
    Map<String, String> settings = settings(store);
    settings.put("token.limit.redis.command-timeout", "3s");
    return settings;
  }

  private static JsonNode assertStore(LimiterInstance instance, String kind, String reason) {
    Class<?> expected = kind.equals("redis") ? ResilientLimitStore.class : MemoryLimitStore.class;
    assertThat(instance.bean(LimitStore.class)).isInstanceOf(expected);
    JsonNode store =
        ApiClient.JSON.readTree(instance.api().get("/actuator/info")).path("limitStore");
    assertThat(store.path("kind").stringValue("")).isEqualTo(kind);
    assertThat(store.path("reason").stringValue("")).contains(reason);
    return store;
  }

  private static void assertServes(LimiterInstance instance) {
    String user = "served-" + UUID.randomUUID();
    vllm.reset().promptTokens(20).answerTokens(5);
    Answer answer = instance.api().chat(user, ChatRequest.of(10, user).json()).block();
    assertThat(answer.status()).isEqualTo(200);
    assertThat(instance.api().usage(user).minute()).isPositive();
  }
}
