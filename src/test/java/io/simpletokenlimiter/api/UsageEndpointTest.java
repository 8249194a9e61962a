package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/** {@code GET /api/v1/usage/{userId}} on the real limiter, with an admin token configured. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(30)
class UsageEndpointTest {

  static final FakeVllm VLLM = FakeVllm.start();
  static final String ADMIN_TOKEN = "s3cret-admin";

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    registry.add("token.limit.admin-token", () -> ADMIN_TOKEN);
    registry.add("token.limit.max-tokens-per-hour", () -> "-1");
  }

  @LocalServerPort int port;
  @Autowired TokenLimiter limiter;

  WebTestClient client;
  String user;

  @BeforeEach
  void setUp() {
    client = LocalClient.to(port);
    user = "u-" + UUID.randomUUID();
  }

  @Test
  void anUnknownUserHasZerosAndTheDefaultLimits() {
    Map<String, Object> body = usageAs(user, user);

    assertThat(body)
        .containsEntry("minute", 0)
        .containsEntry("hour", 0)
        .containsEntry("day", 0)
        .containsEntry("concurrent", 0)
        .containsEntry(
            "limits",
            Map.of("minute", 1_000, "hour", -1, "day", 100_000, "month", -1, "concurrent", 5))
        .containsEntry(
            "remaining",
            Map.of("minute", 1_000, "hour", -1, "day", 100_000, "month", -1, "concurrent", 5));
  }

  @Test
  void inFlightReservationsAndSettledUsageAreCounted() {
    Lease lease =
        limiter.admit(user, ReservationRequest.fixed(40, 1, 150), LeaseScope.UNBOUNDED).block();

    Map<String, Object> during = usageAs(user, user);
    assertThat(during).containsEntry("minute", 190).containsEntry("concurrent", 1);
    assertThat(during.get("remaining"))
        .isEqualTo(Map.of("minute", 810, "hour", -1, "day", 99_810, "month", -1, "concurrent", 4));

    lease.settle(new TokenUsage(40, 35)).block();
    assertThat(usageAs(user, user))
        .containsEntry("minute", 75)
        .containsEntry("day", 75)
        .containsEntry("concurrent", 0);
  }

  @Test
  void anotherUsersUsageNeedsTheAdminToken() {
    client
        .get()
        .uri("/api/v1/usage/{id}", user)
        .header("X-User-ID", "someone-else")
        .exchange()
        .expectStatus()
        .isForbidden()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("forbidden");

    client
        .get()
        .uri("/api/v1/usage/{id}", user)
        .header("Authorization", "Bearer wrong")
        .header("X-User-ID", "someone-else")
        .exchange()
        .expectStatus()
        .isForbidden();

    client
        .get()
        .uri("/api/v1/usage/{id}", user)
        .header("Authorization", "Bearer " + ADMIN_TOKEN)
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.minute")
        .isEqualTo(0);
  }

  @Test
  void withoutAnyIdentityTheAnswerIs401() {
    client
        .get()
        .uri("/api/v1/usage/{id}", user)
        .exchange()
        .expectStatus()
        .isUnauthorized()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("missing_user_id");
  }

  @Test
  void aMalformedUserIdIs400() {
    client
        .get()
        .uri("/api/v1/usage/{id}", "bad user!")
        .header("Authorization", "Bearer " + ADMIN_TOKEN)
        .exchange()
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_user_id");
  }

  private Map<String, Object> usageAs(String caller, String target) {
    return client
        .get()
        .uri("/api/v1/usage/{id}", target)
        .header("X-User-ID", caller)
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody(new ParameterizedTypeReference<Map<String, Object>>() {})
        .returnResult()
        .getResponseBody();
  }
}
