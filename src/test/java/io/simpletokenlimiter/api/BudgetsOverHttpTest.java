package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Teams, monthly quotas and token weights on the real limiter over HTTP: the deployment weighs
 * prompt, completion and cached prompt tokens 1, 3 and 0.5, and the overrides file has a team.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(30)
class BudgetsOverHttpTest {

  static final FakeVllm VLLM = FakeVllm.start();
  static final Path OVERRIDES = overrides();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    registry.add("token.limit.max-tokens-per-minute", () -> "100000");
    registry.add("token.limit.max-tokens-per-month", () -> "1000000");
    registry.add("token.limit.calendar-zone", () -> "Asia/Seoul");
    registry.add("token.limit.weights.prompt", () -> "1");
    registry.add("token.limit.weights.completion", () -> "3");
    registry.add("token.limit.weights.cached-prompt", () -> "0.5");
    registry.add("token.limit.overrides-file", OVERRIDES::toString);
  }

  private static Path overrides() {
    try {
      Path file = Files.createTempFile("budgets", ".yml");
      Files.writeString(
          file,
          """
          tiers:
            batch: {weights: {prompt: 2, completion: 1}}
          teams:
            research: {max-tokens-per-minute: 3000, max-tokens-per-month: 2000000, \
          max-concurrent-requests: 8}
            small: {max-tokens-per-minute: 1000}
          users:
            alice: {team: research}
            bob: {team: research}
            carol: batch
            dave: {team: small}
          """);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @LocalServerPort int port;
  @Autowired TokenLimiter limiter;

  WebTestClient client;

  @BeforeEach
  void setUp() {
    client = LocalClient.to(port);
    VLLM.reset();
  }

  @Test
  void theChargeIsWhatVllmReportedWeightedToTheToken() {
    String user = "w-" + UUID.randomUUID();
    VLLM.promptTokens(41).cachedPromptTokens(11).answerTokens(20);

    chat(user, 50).expectStatus().isOk();

    // 30 uncached prompt tokens at 1, 11 cached at 0.5, 20 completion tokens at 3: 95.5, rounded up
    Map<String, Object> usage = awaitSettled(user);
    assertThat(usage).containsEntry("minute", 96).containsEntry("month", 96);
    assertThat(usage.get("weights"))
        .isEqualTo(Map.of("prompt", 1, "completion", 3, "cached_prompt", 0.5));
  }

  @Test
  void withoutCachedTokensEveryPromptTokenCostsThePromptWeight() {
    String user = "w-" + UUID.randomUUID();
    VLLM.promptTokens(25).answerTokens(7);

    chat(user, 50).expectStatus().isOk();

    assertThat(awaitSettled(user)).containsEntry("minute", 25 + 21);
  }

  @Test
  void aTierWeighsTokensItsOwnWay() {
    VLLM.promptTokens(25).answerTokens(7);
    limiter.forget("carol").block();

    chat("carol", 50).expectStatus().isOk();

    Map<String, Object> usage = awaitSettled("carol");
    assertThat(usage).containsEntry("minute", 2 * 25 + 7);
    assertThat(usage.get("weights"))
        .isEqualTo(Map.of("prompt", 2, "completion", 1, "cached_prompt", 1));
  }

  @Test
  void theTeamsLimitBlocksAMemberAndTheAnswerSaysSo() {
    // alice holds 40 + 3 * 900 = 2,740 of the team's 3,000 units a minute
    var alice =
        limiter.admit("alice", ReservationRequest.fixed(40, 1, 900), LeaseScope.UNBOUNDED).block();

    chat("bob", 100)
        .expectStatus()
        .isEqualTo(429)
        .expectBody()
        .jsonPath("$.limit_type")
        .isEqualTo("minute")
        .jsonPath("$.scope")
        .isEqualTo("team");

    Map<String, Object> usage = usage("bob");
    @SuppressWarnings("unchecked")
    Map<String, Object> team = (Map<String, Object>) usage.get("team");
    assertThat(team).containsEntry("name", "research").containsEntry("minute", 2_740);
    assertThat(team).containsEntry("concurrent", 1);
    assertThat(usage).containsEntry("minute", 0);
    alice.release().block();
  }

  @Test
  void anAnswerPastAWarningThresholdSaysWhoseWindowIsFillingUp() {
    VLLM.promptTokens(25).answerTokens(7);

    chat("dave", 10).expectStatus().isOk().expectHeader().doesNotExist("x-ratelimit-warning");
    // 3 units a completion token: 270 of them fill more than 80 % of the team's 1,000 a minute
    chat("dave", 270)
        .expectStatus()
        .isOk()
        .expectHeader()
        .valueMatches("x-ratelimit-warning", "minute;scope=team;threshold=(80|95);used=\\d+");
  }

  private WebTestClient.ResponseSpec chat(String user, int maxTokens) {
    return client
        .post()
        .uri("/api/v1/chat/completions")
        .header("X-User-ID", user)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue(
            """
            {"model":"llama3.2-1b","messages":[{"role":"user","content":"Hello there"}],\
            "max_tokens":%d}"""
                .formatted(maxTokens))
        .exchange();
  }

  /** The usage once nothing is in flight: the settle lands just after the answer. */
  private Map<String, Object> awaitSettled(String user) {
    long deadline = System.nanoTime() + 5_000_000_000L;
    Map<String, Object> usage = usage(user);
    while (!Integer.valueOf(0).equals(usage.get("concurrent")) && System.nanoTime() < deadline) {
      usage = usage(user);
    }
    return usage;
  }

  private Map<String, Object> usage(String user) {
    return client
        .get()
        .uri("/api/v1/usage/" + user)
        .header("X-User-ID", user)
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody(new ParameterizedTypeReference<Map<String, Object>>() {})
        .returnResult()
        .getResponseBody();
  }
}
