package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/** The admin API on the memory store, over HTTP, with the admin token and an overrides file. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(30)
class AdminEndpointTest {

  static final FakeVllm VLLM = FakeVllm.start();
  static final String ADMIN_TOKEN = "admin-s3cret";
  static final ParameterizedTypeReference<Map<String, Object>> JSON =
      new ParameterizedTypeReference<>() {};

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    registry.add("token.limit.admin-token", () -> ADMIN_TOKEN);
    registry.add("token.limit.max-tokens-per-minute", () -> "100000");
    registry.add("token.limit.overrides-file", AdminEndpointTest::overridesFile);
  }

  private static String overridesFile() {
    try {
      Path file = Files.createTempFile("limits", ".yml");
      Files.writeString(
          file,
          """
          tiers:
            pro: {max-tokens-per-minute: 5000, max-concurrent-requests: 10}
          users:
            filed: {tier: pro, max-tokens-per-day: 7000}
          """);
      file.toFile().deleteOnExit();
      return file.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @LocalServerPort int port;
  @Autowired TokenLimiter limiter;

  WebTestClient client;
  String user;

  @BeforeEach
  void setUp() {
    client = LocalClient.to(port);
    user = "admin-test-" + UUID.randomUUID();
  }

  @Test
  void withoutCredentialsTheAdminApiAnswers401AndToAnyoneElse401() {
    for (String path :
        List.of("/api/v1/admin/usage", "/api/v1/admin/limits/" + user, "/api/v1/admin/usage/x")) {
      HttpMethod method =
          path.startsWith("/api/v1/admin/usage/") ? HttpMethod.DELETE : HttpMethod.GET;
      client
          .method(method)
          .uri(path)
          .header("X-User-ID", user)
          .exchange()
          .expectStatus()
          .isUnauthorized()
          .expectHeader()
          .valueEquals("WWW-Authenticate", "Bearer")
          .expectBody()
          .jsonPath("$.error")
          .isEqualTo("unauthorized");
    }
    client
        .get()
        .uri("/api/v1/admin/usage")
        .header("Authorization", "Bearer not-the-token")
        .exchange()
        .expectStatus()
        .isUnauthorized();
    client
        .put()
        .uri("/api/v1/admin/limits/{id}", user)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue("{\"max-tokens-per-minute\": 1}")
        .exchange()
        .expectStatus()
        .isUnauthorized();
    assertThat(limiter.limitsFor(user).tokensPerMinute()).isEqualTo(100_000);
  }

  @Test
  void topListsTheHeaviestUsersWithTheNumbersOfTheirUsage() {
    String heavy = user + "-heavy";
    String medium = user + "-medium";
    serve(heavy, 900);
    serve(medium, 800);
    Lease inFlight = admit(medium, 50);
    serve(user + "-light", 10);

    Map<String, Object> top = admin(HttpMethod.GET, "/api/v1/admin/usage?window=minute&top=2");

    assertThat(top).containsEntry("window", "minute").containsEntry("top", 2);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> users = (List<Map<String, Object>>) top.get("users");
    assertThat(users).extracting(u -> u.get("user_id")).containsExactly(heavy, medium);
    assertThat(users.get(1)).containsEntry("minute", 850).containsEntry("concurrent", 1);
    for (Map<String, Object> listed : users) {
      Map<String, Object> withoutId = new HashMap<>(listed);
      withoutId.remove("user_id");
      assertThat(withoutId)
          .isEqualTo(admin(HttpMethod.GET, "/api/v1/usage/" + listed.get("user_id")));
    }
    inFlight.settle(new TokenUsage(0, 0)).block();
  }

  @Test
  void otherMethodsAre405() {
    client
        .post()
        .uri("/api/v1/admin/usage")
        .header("Authorization", "Bearer " + ADMIN_TOKEN)
        .exchange()
        .expectStatus()
        .isEqualTo(405)
        .expectHeader()
        .valueEquals("Allow", "GET");
    client
        .post()
        .uri("/api/v1/admin/limits/{id}", user)
        .header("Authorization", "Bearer " + ADMIN_TOKEN)
        .exchange()
        .expectStatus()
        .isEqualTo(405)
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("method_not_allowed");
  }

  @Test
  void topChecksItsParameters() {
    for (String query : List.of("window=week", "top=0", "top=1001", "top=many")) {
      client
          .get()
          .uri("/api/v1/admin/usage?" + query)
          .header("Authorization", "Bearer " + ADMIN_TOKEN)
          .exchange()
          .expectStatus()
          .isBadRequest()
          .expectBody()
          .jsonPath("$.error")
          .isEqualTo("invalid_request");
    }
  }

  @Test
  void forgettingUsageKeepsTheReservationsInFlight() {
    serve(user, 600);
    Lease inFlight = admit(user, 300);

    Map<String, Object> after = admin(HttpMethod.DELETE, "/api/v1/admin/usage/" + user);

    assertThat(after)
        .containsEntry("user_id", user)
        .containsEntry("minute", 300)
        .containsEntry("day", 300)
        .containsEntry("concurrent", 1);
    inFlight.settle(new TokenUsage(100, 20)).block();
    assertThat(limiter.usage(user).block().minute()).isEqualTo(120);
  }

  @Test
  void runTimeLimitsLayOverTheFileAndSayWhereEachLimitComesFrom() {
    Map<String, Object> filed = admin(HttpMethod.GET, "/api/v1/admin/limits/filed");
    assertThat(filed)
        .containsEntry("tier", "pro")
        .containsEntry("tier_source", "file")
        .containsEntry(
            "limits",
            Map.of(
                "max-tokens-per-minute", Map.of("value", 5_000, "source", "tier"),
                "max-tokens-per-hour", Map.of("value", 10_000, "source", "default"),
                "max-tokens-per-day", Map.of("value", 7_000, "source", "file"),
                "max-tokens-per-month", Map.of("value", -1, "source", "default"),
                "max-concurrent-requests", Map.of("value", 10, "source", "tier")));

    Map<String, Object> put =
        admin(HttpMethod.PUT, "/api/v1/admin/limits/" + user, "{\"max-tokens-per-hour\": 777}");
    assertThat(put).containsEntry("runtime", Map.of("max-tokens-per-hour", 777));
    assertThat(limiter.limitsFor(user)).isEqualTo(new Limits(100_000, 777, 100_000, 5));
    admin(HttpMethod.PUT, "/api/v1/admin/limits/" + user, "{\"tier\": \"pro\"}");
    assertThat(limiter.limitsFor(user)).isEqualTo(new Limits(5_000, 10_000, 100_000, 10));

    Map<String, Object> removed = admin(HttpMethod.DELETE, "/api/v1/admin/limits/" + user);
    assertThat(removed).doesNotContainKey("runtime").doesNotContainKey("tier");
    assertThat(limiter.limitsFor(user)).isEqualTo(new Limits(100_000, 10_000, 100_000, 5));
  }

  @Test
  void invalidRunTimeLimitsAre400AndChangeNothing() {
    for (String body :
        List.of(
            "{\"max-tokens-per-minute\": 0}",
            "{\"max-tokens-per-minute\": \"lots\"}",
            "{\"max-tokens-per-minute\": 1.5}",
            "{\"max-tokens\": 10}",
            "{\"tier\": \"gold\"}",
            "{\"max-concurrent-requests\": 0}",
            "{}",
            "[1]",
            "not json")) {
      client
          .put()
          .uri("/api/v1/admin/limits/{id}", user)
          .header("Authorization", "Bearer " + ADMIN_TOKEN)
          .contentType(MediaType.APPLICATION_JSON)
          .bodyValue(body)
          .exchange()
          .expectStatus()
          .isBadRequest()
          .expectBody()
          .jsonPath("$.error")
          .isEqualTo("invalid_request");
    }
    assertThat(limiter.limitsFor(user)).isEqualTo(new Limits(100_000, 10_000, 100_000, 5));
  }

  private void serve(String userId, long tokens) {
    admit(userId, tokens).settle(new TokenUsage(tokens - 1, 1)).block();
  }

  private Lease admit(String userId, long tokens) {
    return limiter
        .admit(userId, ReservationRequest.fixed(tokens - 1, 1, 1), LeaseScope.UNBOUNDED)
        .block();
  }

  private Map<String, Object> admin(HttpMethod method, String path) {
    return admin(method, path, null);
  }

  private Map<String, Object> admin(HttpMethod method, String path, String body) {
    WebTestClient.RequestBodySpec request =
        client.method(method).uri(path).header("Authorization", "Bearer " + ADMIN_TOKEN);
    WebTestClient.RequestHeadersSpec<?> ready =
        body == null ? request : request.contentType(MediaType.APPLICATION_JSON).bodyValue(body);
    return ready.exchange().expectStatus().isOk().expectBody(JSON).returnResult().getResponseBody();
  }
}
