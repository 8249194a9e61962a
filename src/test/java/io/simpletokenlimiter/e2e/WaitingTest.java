package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.testing.vllm.RecordedRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.http.HttpHeaders;

/**
 * Waiting for room instead of a 429 (issue 10), through real sockets: one replica on the memory
 * store whose clock a test can move forward, and two replicas sharing one Redis.
 */
@Timeout(120)
class WaitingTest {

  private static final long MINUTE_LIMIT = 1_000;
  private static final int ANSWER_TOKENS = 20;

  private static final FakeVllm VLLM = FakeVllm.start();
  private static final ShiftedClock CLOCK = new ShiftedClock();
  private static LimiterInstance memory;
  private static LimiterInstance redisA;
  private static LimiterInstance redisB;
  private static long prompt;

  private String user;

  @BeforeAll
  static void start() {
    Map<String, String> common =
        Map.of(
            "token.limit.vllm-url", VLLM.baseUrl(),
            "token.limit.max-tokens-per-minute", Long.toString(MINUTE_LIMIT),
            "token.limit.max-concurrent-requests", "1");
    memory =
        LimiterInstance.start(
            common, context -> context.getBeanFactory().registerSingleton("shiftedClock", CLOCK));
    prompt = PromptProbe.countedPrompt(memory.api(), VLLM, MINUTE_LIMIT);
    RedisServerProcess redis = SharedRedis.standalone();
    Map<String, String> shared = new java.util.HashMap<>(common);
    shared.put("token.limit.store", "redis");
    shared.put("spring.data.redis.host", redis.host());
    shared.put("spring.data.redis.port", Integer.toString(redis.port()));
    // Neither replica is warmed by a request before the test's: their first Redis replies may
    // take longer than the default 500 ms on a busy machine, and a timed-out admission is an
    // error. The subject here is the wait across replicas, not the outage policy.
    shared.put("token.limit.redis.command-timeout", "3s");
    redisA = LimiterInstance.start(shared);
    redisB = LimiterInstance.start(shared);
  }

  @AfterAll
  static void stop() {
    memory.close();
    redisA.close();
    redisB.close();
    VLLM.close();
  }

  @BeforeEach
  void setUp() {
    user = "waiter-" + UUID.randomUUID();
    VLLM.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(ANSWER_TOKENS);
  }

  @Test
  void atTheMinuteLimitAWaitLongerThanTheRoomsReturnIsServedWhenItComesBack() {
    ApiClient api = memory.api();
    long budget = MINUTE_LIMIT - prompt - 5;
    VLLM.answerTokens((int) budget);
    assertThat(api.chat(user, ChatRequest.of((int) budget, user + "#0").json()).block().status())
        .isEqualTo(200);
    VLLM.answerTokens(ANSWER_TOKENS);
    // 54 s later on the limiter's clock: the minute's room comes back in about 6 s, time enough
    // on a slow machine for the too-short wait below to find it still away.
    CLOCK.shift(Duration.ofSeconds(54));
    double waitedBefore = waitCount(api, "admitted");
    double rejectedBefore = waitCount(api, "rejected");

    Answer tooShort = api.chat(user, request("#1"), maxWait("1")).block();
    assertThat(tooShort.status()).isEqualTo(429);
    assertThat(tooShort.json().path("limit_type").stringValue("")).isEqualTo("minute");
    assertThat(tooShort.json().path("retry_after").longValue()).isBetween(2L, 8L);
    // Answered at once: it never entered the queue.
    assertThat(waitCount(api, "rejected")).isEqualTo(rejectedBefore);

    long start = System.nanoTime();
    Answer waited = api.chat(user, request("#2"), maxWait("10")).block();
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertThat(waited.status()).as("answer %s", waited).isEqualTo(200);
    assertThat(waited.header("x-ratelimit-limit-tokens")).isEqualTo(Long.toString(MINUTE_LIMIT));
    assertThat(tookMillis).as("it waited for the room").isGreaterThanOrEqualTo(1_000);
    assertThat(waitCount(api, "admitted")).isEqualTo(waitedBefore + 1);
    assertThat(api.get("/actuator/prometheus")).contains("requests_waiting 0.0");
    System.out.printf("waited for the minute's room: %d ms%n", tookMillis);
  }

  @Test
  void aRequestWaitingForTheInFlightSlotGoesWhenTheRequestBeforeItSettles() {
    ApiClient api = memory.api();
    VLLM.holdAnswers();
    CompletableFuture<Answer> first = api.chat(user, request("#0")).toFuture();
    awaitAtFake(user + "#0");

    Answer impatient = api.chat(user, request("#1")).block();
    assertThat(impatient.status()).isEqualTo(429);
    assertThat(impatient.json().path("limit_type").stringValue("")).isEqualTo("concurrent");

    CompletableFuture<Answer> patient = api.chat(user, request("#2"), maxWait("30")).toFuture();
    await().atMost(Duration.ofSeconds(10)).until(() -> waiting(api) == 1);
    assertThat(patient).isNotDone();
    VLLM.releaseAnswers();

    assertThat(join(first).status()).isEqualTo(200);
    assertThat(join(patient).status()).isEqualTo(200);
    assertThat(VLLM.generationRequests())
        .extracting(TokenRace::tagOf)
        .containsExactly(user + "#0", user + "#2");
  }

  @Test
  void aWaitOnOneReplicaSeesASettleOnTheOther() {
    VLLM.holdAnswers();
    CompletableFuture<Answer> onA = redisA.api().chat(user, request("#0")).toFuture();
    awaitAtFake(user + "#0");

    CompletableFuture<Answer> onB =
        redisB.api().chat(user, request("#1"), maxWait("20")).toFuture();
    await().atMost(Duration.ofSeconds(10)).until(() -> waiting(redisB.api()) == 1);
    VLLM.releaseAnswers();

    assertThat(join(onA).status()).isEqualTo(200);
    Answer b = join(onB);
    assertThat(b.status()).as("answer %s", b).isEqualTo(200);
    RecordedRequest atFake = VLLM.generationRequests().get(1);
    assertThat(TokenRace.tagOf(atFake)).isEqualTo(user + "#1");
  }

  @Test
  void aWaitThatRunsOutIsA429WithAFreshRetryAfter() {
    ApiClient api = memory.api();
    VLLM.holdAnswers();
    CompletableFuture<Answer> first = api.chat(user, request("#0")).toFuture();
    awaitAtFake(user + "#0");

    Answer late = api.chat(user, request("#1"), maxWait("1.5")).block();

    assertThat(late.status()).isEqualTo(429);
    assertThat(late.json().path("limit_type").stringValue("")).isEqualTo("concurrent");
    assertThat(late.header("Retry-After")).isNotEmpty();
    assertThat(late.header("x-ratelimit-limit-requests")).isEqualTo("1");
    VLLM.releaseAnswers();
    assertThat(join(first).status()).isEqualTo(200);
    assertThat(VLLM.generationRequests()).hasSize(1);
    assertThat(waiting(api)).isZero();
  }

  @Test
  void aMalformedMaxWaitIsAnInvalidRequest() {
    ApiClient api = memory.api();
    for (String value : new String[] {"soon", "-1", "1e3", "1,5", ""}) {
      Answer answer = api.chat(user, request("#bad"), maxWait(value)).block();
      assertThat(answer.status()).as("X-Max-Wait: '%s'", value).isEqualTo(400);
      assertThat(answer.error()).isEqualTo("invalid_request");
    }
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  private String request(String suffix) {
    return ChatRequest.of(ANSWER_TOKENS, user + suffix).json();
  }

  private static HttpHeaders maxWait(String seconds) {
    HttpHeaders headers = new HttpHeaders();
    headers.set("X-Max-Wait", seconds);
    return headers;
  }

  static double waiting(ApiClient api) {
    return metric(api, "requests_waiting");
  }

  private static double waitCount(ApiClient api, String outcome) {
    return metric(api, "request_wait_seconds_count\\{outcome=\"" + outcome + "\"}");
  }

  private static double metric(ApiClient api, String series) {
    Matcher m =
        Pattern.compile("(?m)^" + series + " (\\S+)$").matcher(api.get("/actuator/prometheus"));
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  private static Answer join(CompletableFuture<Answer> answer) {
    try {
      return answer.get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void awaitAtFake(String tag) {
    await("request " + tag + " at the fake")
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> VLLM.generationRequests().stream().anyMatch(r -> TokenRace.tagOf(r).equals(tag)));
  }

  /**
   * The system clock, moved forward by hand: a window's room comes back without a minute's wait.
   */
  static final class ShiftedClock extends Clock {

    private volatile long shiftMillis;

    void shift(Duration by) {
      shiftMillis += by.toMillis();
    }

    @Override
    public long millis() {
      return System.currentTimeMillis() + shiftMillis;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
