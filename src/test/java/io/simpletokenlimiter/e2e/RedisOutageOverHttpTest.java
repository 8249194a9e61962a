package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.RespConnection;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SPEC §6, Redis unreachable, through the HTTP API: a real redis-server is killed under traffic and
 * started again (empty) on the same port. Replica {@code F} has the default policy ({@code
 * fallback-memory}), replica {@code C} fails closed. Both run the default Redis command timeout
 * (250 ms) and a short breaker wait, so that recovery is quick.
 */
@Timeout(120)
class RedisOutageOverHttpTest {

  private static final long PLENTY = 1_000_000;
  private static final long SMALL_MINUTE = 1_000;
  private static final String SPENDER = "spender-" + UUID.randomUUID().toString().substring(0, 8);

  private static RedisServerProcess redis;
  private static FakeVllm vllm;
  private static LimiterInstance fallbackReplica;
  private static LimiterInstance failClosedReplica;
  private static long prompt;

  @BeforeAll
  static void start() {
    redis = RedisServerProcess.start();
    vllm = FakeVllm.start();
    Path overrides =
        LimiterInstance.overridesFile(
            "users:\n  %s: {max-tokens-per-minute: %d}\n".formatted(SPENDER, SMALL_MINUTE));
    fallbackReplica = LimiterInstance.start(properties("fallback-memory", overrides));
    failClosedReplica = LimiterInstance.start(properties("fail-closed", overrides));
    // Traffic users may use up to the model's whole context.
    prompt = PromptProbe.countedPrompt(fallbackReplica.api(), vllm, FakeVllm.MAX_MODEL_LEN);
  }

  private static Map<String, String> properties(String policy, Path overrides) {
    return Map.ofEntries(
        Map.entry("token.limit.vllm-url", vllm.baseUrl()),
        Map.entry("token.limit.store", "redis"),
        Map.entry("spring.data.redis.host", redis.host()),
        Map.entry("spring.data.redis.port", Integer.toString(redis.port())),
        Map.entry("token.limit.redis.outage-policy", policy),
        Map.entry("token.limit.redis.breaker.wait-in-open-state", "500ms"),
        // Above the slowest healthy reply of a busy 2-core test machine, below the 1 s pause.
        Map.entry("token.limit.redis.command-timeout", "600ms"),
        Map.entry("token.limit.max-tokens-per-minute", Long.toString(PLENTY)),
        Map.entry("token.limit.max-tokens-per-hour", Long.toString(PLENTY)),
        Map.entry("token.limit.max-tokens-per-day", Long.toString(PLENTY)),
        Map.entry("token.limit.overrides-file", overrides.toString()));
  }

  @AfterAll
  static void stop() {
    fallbackReplica.close();
    failClosedReplica.close();
    vllm.close();
    redis.close();
  }

  @BeforeEach
  void setUp() {
    if (!redis.isRunning()) {
      redis.startAgain();
    }
    vllm.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(5);
  }

  @Test
  void trafficIsAnsweredThroughARedisRestartAndRedisDecidesAgainAfterwards() {
    Traffic fallback = new Traffic(fallbackReplica.api(), "fallback-" + UUID.randomUUID());
    Traffic failClosed = new Traffic(failClosedReplica.api(), "closed-" + UUID.randomUUID());
    List<Thread> clients = List.of(fallback.start(), failClosed.start());
    try {
      fallback.awaitAnswers(Phase.BEFORE, 10);
      failClosed.awaitAnswers(Phase.BEFORE, 10);

      // Each client sends one request at a time: once one of the next phase is answered, none
      // of the phase before is still running.
      fallback.phase = Phase.DOWN;
      failClosed.phase = Phase.DOWN;
      fallback.awaitAnswers(Phase.DOWN, 1);
      failClosed.awaitAnswers(Phase.DOWN, 1);
      redis.stop();
      fallback.awaitAnswers(Phase.DOWN, 20);
      failClosed.awaitAnswers(Phase.DOWN, 20);
      Answer usageWhileDown = failClosedReplica.api().usageAnswer(failClosed.user);

      redis.startAgain();
      fallback.phase = Phase.AFTER;
      failClosed.phase = Phase.AFTER;
      // Both recover by themselves: Redis, empty after its restart, counts their users again.
      awaitCountedInRedis(failClosed.user);
      awaitCountedInRedis(fallback.user);
      failClosed.awaitOkInARow(5);
      fallback.awaitOkInARow(5);

      assertThat(usageWhileDown.status()).isEqualTo(503);
      assertThat(usageWhileDown.error()).isEqualTo("limiter_unavailable");
    } finally {
      fallback.running.set(false);
      failClosed.running.set(false);
      clients.forEach(RedisOutageOverHttpTest::join);
    }

    // fallback-memory: answered by Redis or by this replica's memory; only requests caught by
    // a Redis timeout, before the breaker opened, get the documented 503.
    assertThat(fallback.answers)
        .isNotEmpty()
        .allSatisfy(sample -> assertThat(sample.describe()).isIn("200", "503 limiter_unavailable"));
    assertThat(fallback.answers)
        .filteredOn(sample -> sample.phase() == Phase.DOWN)
        .extracting(Sample::describe)
        .contains("200");
    assertThat(fallback.answers)
        .filteredOn(sample -> sample.phase() == Phase.BEFORE)
        .extracting(Sample::describe)
        .containsOnly("200");
    // fail-closed: answered, or refused with the documented 503 while Redis was away.
    assertThat(failClosed.answers)
        .allSatisfy(sample -> assertThat(sample.describe()).isIn("200", "503 limiter_unavailable"));
    assertThat(failClosed.answers)
        .filteredOn(sample -> sample.phase() == Phase.DOWN)
        .extracting(Sample::describe)
        .contains("503 limiter_unavailable");
    assertThat(failClosed.answers)
        .filteredOn(sample -> sample.phase() == Phase.BEFORE)
        .extracting(Sample::describe)
        .containsOnly("200");
  }

  /**
   * A user who has spent the minute is not served because one Redis reply was slow. Redis is paused
   * for a second (as a slow disk, a fork or a failover does); the replica's 600 ms timeout fires.
   *
   * <p>A timed-out admission must not fall back to this replica's memory store, which has never
   * seen the user's usage: only a Redis known to be down (refusing, or its breaker open) does.
   */
  @Test
  void oneSlowRedisReplyDoesNotLetASpentUserThrough() {
    ApiClient api = fallbackReplica.api();
    vllm.answerTokens(1_000);
    Answer spend =
        api.chat(SPENDER, ChatRequest.of((int) (SMALL_MINUTE - prompt - 5), SPENDER + "-1").json())
            .block();
    assertThat(spend.status()).isEqualTo(200);
    Answer refused = api.chat(SPENDER, ChatRequest.of(20, SPENDER + "-2").json()).block();
    assertThat(refused.status()).isEqualTo(429);

    try (RespConnection connection = redis.connect()) {
      connection.call("CLIENT", "PAUSE", "1000");
    }
    Answer duringPause = api.chat(SPENDER, ChatRequest.of(20, SPENDER + "-3").json()).block();

    assertThat(duringPause.status()).as("answer %s", duringPause).isIn(429, 503);
    assertThat(vllm.generationRequests())
        .extracting(TokenRace::tagOf)
        .doesNotContain(SPENDER + "-3");
  }

  private static void awaitCountedInRedis(String user) {
    await("Redis counts " + user + " again")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .ignoreExceptions()
        .until(
            () -> {
              try (RespConnection connection = redis.connect()) {
                // The key layout of docs/redis-store.md.
                return (Long) connection.call("EXISTS", "stl:{" + user + "}:ledger") == 1L;
              }
            });
  }

  enum Phase {
    BEFORE,
    DOWN,
    AFTER
  }

  /** One answer of the traffic, and when it came. */
  record Sample(Phase phase, int status, String error) {

    String describe() {
      return status == 200 ? "200" : status + " " + error;
    }
  }

  /** One client sending small requests back to back to one replica, recording every answer. */
  private static final class Traffic implements Runnable {

    final ApiClient api;
    final String user;
    final AtomicBoolean running = new AtomicBoolean(true);
    final ConcurrentLinkedQueue<Sample> answers = new ConcurrentLinkedQueue<>();
    volatile Phase phase = Phase.BEFORE;

    Traffic(ApiClient api, String user) {
      this.api = api;
      this.user = user;
    }

    Thread start() {
      Thread thread = new Thread(this, "traffic-" + user);
      thread.setDaemon(true);
      thread.start();
      return thread;
    }

    @Override
    public void run() {
      int i = 0;
      while (running.get()) {
        Phase now = phase;
        try {
          Answer answer = api.chat(user, ChatRequest.of(5, user + "#" + i++).json()).block();
          answers.add(new Sample(now, answer.status(), answer.error()));
        } catch (RuntimeException e) {
          answers.add(new Sample(now, -1, e.toString()));
        }
      }
    }

    void awaitAnswers(Phase phase, int count) {
      await("%d answers to %s in phase %s".formatted(count, user, phase))
          .atMost(Duration.ofSeconds(30))
          .until(() -> answers.stream().filter(s -> s.phase() == phase).count() >= count);
    }

    /** Waits until the last {@code count} answers were all 200. */
    void awaitOkInARow(int count) {
      await(count + " answers of 200 in a row to " + user)
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                List<Sample> all = List.copyOf(answers);
                return all.size() >= count
                    && all.subList(all.size() - count, all.size()).stream()
                        .allMatch(s -> s.phase() == Phase.AFTER && s.status() == 200);
              });
    }
  }

  private static void join(Thread thread) {
    try {
      thread.join(ApiClient.CALL_TIMEOUT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
