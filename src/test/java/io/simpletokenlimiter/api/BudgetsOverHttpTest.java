package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.json.JsonMapper;

/**
 * Teams, monthly quotas and token weights on the real limiter over HTTP: the deployment weighs
 * prompt, completion and cached prompt tokens 1, 3 and 0.5, and the overrides file has a team.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(30)
class BudgetsOverHttpTest {

  static final FakeVllm VLLM = FakeVllm.start();
  static final Path OVERRIDES = overrides();
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String ADMIN_TOKEN = "budgets-admin";

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
    registry.add("token.limit.admin-token", () -> ADMIN_TOKEN);
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
            audited: {max-tokens-per-minute: 100000}
          users:
            alice: {team: research}
            bob: {team: research}
            carol: batch
            dave: {team: small}
            erin: {team: audited}
          """);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @LocalServerPort int port;
  @Autowired TokenLimiter limiter;

  WebTestClient client;

  private final ListAppender<ILoggingEvent> events = new ListAppender<>();
  private final Logger usageLogger = (Logger) LoggerFactory.getLogger(UsageEvents.LOGGER);

  @BeforeEach
  void setUp() {
    client = LocalClient.to(port);
    VLLM.reset();
    events.start();
    usageLogger.addAppender(events);
  }

  @AfterEach
  void stopCapturing() {
    usageLogger.detachAppender(events);
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
    assertThat(lastEventOf("bob"))
        .containsEntry("team", "research")
        .containsEntry("outcome", "rejected")
        .containsEntry("limit_type", "minute")
        .containsEntry("reserved_tokens", 0)
        .containsEntry("reserved_units", 0);
    alice.release().block();
  }

  @Test
  void theUsageEventNamesTheTeamAndTheReservationInTokensAndInUnits() {
    VLLM.promptTokens(25).answerTokens(7);

    chat("erin", 50).expectStatus().isOk();
    chat("w-" + UUID.randomUUID(), 50).expectStatus().isOk();

    Map<String, Object> erin = lastEventOf("erin");
    assertThat(erin).containsEntry("team", "audited").containsEntry("charged_units", 25 + 3 * 7);
    // the prompt as counted here at weight 1, plus 50 completion tokens at weight 3
    int reservedTokens = (int) erin.get("reserved_tokens");
    assertThat(reservedTokens).isGreaterThan(50);
    assertThat(erin).containsEntry("reserved_units", reservedTokens + 2 * 50);
    Map<String, Object> teamless = lastEvent(line -> line.contains("\"user\":\"w-"));
    assertThat(teamless).doesNotContainKey("team").containsEntry("reserved_tokens", reservedTokens);
  }

  @Test
  @SuppressWarnings("unchecked")
  void theHeaviestUsersListGivesEachWhatTheirUsageGivesTeamAndWeightsIncluded() {
    VLLM.promptTokens(25).answerTokens(7);
    chat("erin", 50).expectStatus().isOk();
    chat("carol", 50).expectStatus().isOk();
    awaitSettled("erin");
    awaitSettled("carol");

    Map<String, Object> top =
        get("/api/v1/admin/usage?window=minute&top=1000", "Authorization", "Bearer " + ADMIN_TOKEN);
    List<Map<String, Object>> users = (List<Map<String, Object>>) top.get("users");
    assertThat(users).extracting(user -> user.get("user_id")).contains("erin", "carol");
    for (Map<String, Object> user : users) {
      Map<String, Object> listed = new LinkedHashMap<>(user);
      String userId = (String) listed.remove("user_id");
      assertThat(listed).as("the entry of %s", userId).isEqualTo(usage(userId));
    }
    Map<String, Object> erin =
        users.stream().filter(user -> user.get("user_id").equals("erin")).findFirst().orElseThrow();
    assertThat((Map<String, Object>) erin.get("team")).containsEntry("name", "audited");
    assertThat((Map<String, Object>) erin.get("weights")).containsEntry("completion", 3);
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

  private Map<String, Object> lastEventOf(String user) {
    return lastEvent(line -> line.contains("\"user\":\"" + user + "\""));
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> lastEvent(Predicate<String> matching) {
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () -> events.list.stream().map(ILoggingEvent::getFormattedMessage).anyMatch(matching));
    List<String> lines =
        events.list.stream().map(ILoggingEvent::getFormattedMessage).filter(matching).toList();
    return JSON.readValue(lines.get(lines.size() - 1), Map.class);
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
    return get("/api/v1/usage/" + user, "X-User-ID", user);
  }

  private Map<String, Object> get(String uri, String header, String value) {
    return client
        .get()
        .uri(uri)
        .header(header, value)
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody(new ParameterizedTypeReference<Map<String, Object>>() {})
        .returnResult()
        .getResponseBody();
  }
}
