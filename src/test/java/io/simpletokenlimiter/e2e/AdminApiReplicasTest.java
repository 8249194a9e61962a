package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.http.HttpMethod;
import tools.jackson.databind.JsonNode;

/**
 * The admin API on two replicas sharing one real redis-server: the heaviest users and run-time
 * limits are the same from either replica, a limit set on one is enforced by the other, and
 * forgiving a user's usage on one lets the user in again everywhere while a request in flight keeps
 * its reservation.
 */
@Timeout(120)
class AdminApiReplicasTest {

  private static final String ADMIN_TOKEN = "replicas-admin";
  private static final Duration REFRESH = Duration.ofMillis(300);
  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

  private static RedisServerProcess redis;
  private static FakeVllm vllm;
  private static LimiterInstance replicaA;
  private static LimiterInstance replicaB;
  private static long prompt;

  private ApiClient a;
  private ApiClient b;

  @BeforeAll
  static void start() {
    redis = RedisServerProcess.start();
    vllm = FakeVllm.start();
    replicaA = LimiterInstance.start(properties());
    replicaB = LimiterInstance.start(properties());
    prompt = PromptProbe.countedPrompt(replicaB.api(), vllm, 2_048);
  }

  private static Map<String, String> properties() {
    return Map.ofEntries(
        Map.entry("token.limit.vllm-url", vllm.baseUrl()),
        Map.entry("token.limit.store", "redis"),
        Map.entry("spring.data.redis.host", redis.host()),
        Map.entry("spring.data.redis.port", Integer.toString(redis.port())),
        Map.entry("token.limit.redis.command-timeout", "3s"),
        Map.entry("token.limit.admin-token", ADMIN_TOKEN),
        Map.entry("token.limit.runtime-limits-refresh", REFRESH.toMillis() + "ms"),
        Map.entry("token.limit.max-tokens-per-minute", "100000"),
        Map.entry("token.limit.max-tokens-per-hour", "-1"),
        Map.entry("token.limit.max-tokens-per-day", "-1"));
  }

  @AfterAll
  static void stop() {
    replicaA.close();
    replicaB.close();
    vllm.close();
    redis.close();
  }

  @BeforeEach
  void setUp() {
    a = replicaA.api();
    b = replicaB.api();
    vllm.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(40);
  }

  @Test
  void theAdminApiNeedsTheAdminToken() {
    for (ApiClient replica : List.of(a, b)) {
      assertThat(replica.send(HttpMethod.GET, "/api/v1/admin/usage", null, null).status())
          .isEqualTo(401);
      assertThat(replica.send(HttpMethod.GET, "/api/v1/admin/usage", "wrong", null).status())
          .isEqualTo(401);
      Answer put =
          replica.send(
              HttpMethod.PUT,
              "/api/v1/admin/limits/victim-" + RUN,
              "wrong",
              "{\"max-tokens-per-minute\": 1}");
      assertThat(put.status()).isEqualTo(401);
      assertThat(put.error()).isEqualTo("unauthorized");
      assertThat(
              replica
                  .send(HttpMethod.DELETE, "/api/v1/admin/usage/victim-" + RUN, null, null)
                  .status())
          .isEqualTo(401);
    }
  }

  @Test
  void topIsTheSameFromEitherReplicaAndAgreesWithUsage() {
    String heavy = "top-heavy-" + RUN;
    String medium = "top-medium-" + RUN;
    String light = "top-light-" + RUN;
    served(a, heavy, 2);
    served(b, heavy, 2);
    served(b, medium, 3);
    served(a, light, 1);

    // Each replica sends its share of the usage index once a second: wait for both.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              List<String> fromA = topUsers(a);
              assertThat(fromA).isEqualTo(topUsers(b));
              assertThat(fromA.stream().filter(user -> user.startsWith("top-")).toList())
                  .containsExactly(heavy, medium, light);
            });
    JsonNode listed = admin(a, HttpMethod.GET, "/api/v1/admin/usage?window=hour&top=1000", null);
    for (JsonNode entry : listed.path("users")) {
      String user = entry.path("user_id").stringValue();
      JsonNode usage = admin(b, HttpMethod.GET, "/api/v1/usage/" + user, null);
      for (String field : List.of("minute", "hour", "day", "concurrent")) {
        assertThat(entry.path(field).longValue())
            .as(user + " " + field)
            .isEqualTo(usage.path(field).longValue());
      }
    }
    assertThat(listed.path("users").get(0).path("hour").longValue())
        .isGreaterThanOrEqualTo(4 * (prompt + 40));
  }

  @Test
  void aLimitSetOnOneReplicaIsEnforcedByTheOther() {
    String user = "limited-" + RUN;
    long oneRequest = prompt + 40;
    admin(
        a,
        HttpMethod.PUT,
        "/api/v1/admin/limits/" + user,
        "{\"max-tokens-per-minute\": " + (oneRequest + 10) + "}");

    awaitRuntimeLimitOn(b, user);
    assertThat(chat(b, user).status()).isEqualTo(200);
    Answer second = chat(b, user);
    assertThat(second.status()).isEqualTo(429);
    assertThat(second.json().path("limit_type").stringValue()).isEqualTo("minute");

    admin(b, HttpMethod.DELETE, "/api/v1/admin/limits/" + user, null);
    await()
        .atMost(5, TimeUnit.SECONDS)
        .until(
            () ->
                admin(a, HttpMethod.GET, "/api/v1/admin/limits/" + user, null)
                        .path("limits")
                        .path("max-tokens-per-minute")
                        .path("value")
                        .longValue()
                    == 100_000);
    assertThat(chat(a, user).status()).isEqualTo(200);
  }

  @Test
  void forgivingASpentUserLetsThemInAgainWhileARequestInFlightKeepsItsReservation() {
    String user = "spent-" + RUN;
    long oneRequest = prompt + 40;
    admin(
        a,
        HttpMethod.PUT,
        "/api/v1/admin/limits/" + user,
        "{\"max-tokens-per-minute\": " + 2 * oneRequest + "}");
    awaitRuntimeLimitOn(b, user);
    assertThat(chat(a, user).status()).isEqualTo(200);
    vllm.holdAnswers();
    CompletableFuture<Answer> inFlight =
        a.chat(user, ChatRequest.of(40, user + "-held").json()).toFuture();
    await().atMost(10, TimeUnit.SECONDS).until(() -> b.usage(user).concurrent() == 1);
    assertThat(chat(b, user).status()).isEqualTo(429);

    JsonNode forgiven = admin(b, HttpMethod.DELETE, "/api/v1/admin/usage/" + user, null);

    assertThat(forgiven.path("minute").longValue()).isEqualTo(oneRequest);
    assertThat(forgiven.path("concurrent").intValue()).isEqualTo(1);
    CompletableFuture<Answer> again =
        b.chat(user, ChatRequest.of(40, user + "-again").json()).toFuture();
    await().atMost(10, TimeUnit.SECONDS).until(() -> a.usage(user).concurrent() == 2);
    vllm.releaseAnswers();
    assertThat(again.join().status()).isEqualTo(200);
    assertThat(inFlight.join().status()).isEqualTo(200);
    assertThat(a.usage(user).minute()).isEqualTo(2 * oneRequest);
  }

  /** Waits, at most a few refresh intervals, until {@code replica} enforces the run-time limit. */
  private static void awaitRuntimeLimitOn(ApiClient replica, String user) {
    await()
        .atMost(REFRESH.multipliedBy(10))
        .until(
            () ->
                admin(replica, HttpMethod.GET, "/api/v1/admin/limits/" + user, null)
                    .path("limits")
                    .path("max-tokens-per-minute")
                    .path("source")
                    .stringValue("")
                    .equals("runtime"));
  }

  private static List<String> topUsers(ApiClient replica) {
    List<String> users = new ArrayList<>();
    admin(replica, HttpMethod.GET, "/api/v1/admin/usage?window=minute&top=1000", null)
        .path("users")
        .forEach(entry -> users.add(entry.path("user_id").stringValue()));
    return users;
  }

  private static void served(ApiClient replica, String user, int requests) {
    for (int i = 0; i < requests; i++) {
      assertThat(chat(replica, user).status()).isEqualTo(200);
    }
  }

  private static Answer chat(ApiClient replica, String user) {
    return replica.chat(user, ChatRequest.of(40, user + "-" + UUID.randomUUID()).json()).block();
  }

  private static JsonNode admin(ApiClient replica, HttpMethod method, String path, String body) {
    Answer answer = replica.send(method, path, ADMIN_TOKEN, body);
    assertThat(answer.status()).as("%s %s: %s", method, path, answer).isEqualTo(200);
    return answer.json();
  }
}
