package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.e2e.TokenRace.Outcome;
import io.simpletokenlimiter.e2e.TokenRace.Result;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC §3.2 for a team, through real sockets with the real limiter and the in-memory store: the
 * members of one team race at once, each for their own minute and all for the team's, which is
 * smaller than their sum. No member is served more than their limit, and the team no more than its
 * own.
 */
@Timeout(120)
class TeamTokenGuaranteeTest {

  private static final long USER_LIMIT = 1_000;
  private static final long TEAM_LIMIT = 2_500;
  private static final int MEMBERS = 4;
  private static final int ANSWER_TOKENS = 40;

  /** Everything the test charges must stay in one rolling minute for its sums to be comparable. */
  private static final Duration ONE_WINDOW = Duration.ofSeconds(55);

  @TempDir static Path dir;

  private static FakeVllm vllm;
  private static LimiterInstance replica;
  private static List<String> members;

  @BeforeAll
  static void start() throws IOException {
    String run = UUID.randomUUID().toString().substring(0, 8);
    members = IntStream.range(0, MEMBERS).mapToObj(i -> "member" + i + "-" + run).toList();
    StringBuilder yaml = new StringBuilder();
    yaml.append("teams:\n  racers: {max-tokens-per-minute: ").append(TEAM_LIMIT).append("}\n");
    yaml.append("users:\n");
    members.forEach(member -> yaml.append("  ").append(member).append(": {team: racers}\n"));
    Path overrides = Files.writeString(dir.resolve("limits.yml"), yaml);
    vllm = FakeVllm.start();
    replica =
        LimiterInstance.start(
            Map.ofEntries(
                Map.entry("token.limit.vllm-url", vllm.baseUrl()),
                Map.entry("token.limit.max-tokens-per-minute", Long.toString(USER_LIMIT)),
                Map.entry("token.limit.max-concurrent-requests", "1000"),
                Map.entry("token.limit.overrides-file", overrides.toString())));
  }

  @AfterAll
  static void stop() {
    replica.close();
    vllm.close();
  }

  @Test
  void racingMembersNeverExceedTheirOwnOrTheTeamsMinute() {
    ApiClient api = replica.api();
    long prompt = PromptProbe.countedPrompt(api, vllm, USER_LIMIT);
    vllm.reset()
        .promptTokens(Math.toIntExact(prompt))
        .answerTokens(ANSWER_TOKENS)
        .answerDelay(Duration.ofMillis(20))
        .chunkDelay(Duration.ofMillis(2));
    Instant begin = Instant.now();

    List<CompletableFuture<Result>> races = new ArrayList<>();
    for (String member : members) {
      races.add(
          CompletableFuture.supplyAsync(
              () -> new TokenRace(vllm, member, List.of(api)).runFree(80)));
    }
    List<Result> results = races.stream().map(CompletableFuture::join).toList();

    await("every member's requests settled")
        .atMost(Duration.ofSeconds(10))
        .until(() -> members.stream().allMatch(m -> api.usage(m).concurrent() == 0));
    assertThat(Duration.between(begin, Instant.now()))
        .as("the whole race ran within one rolling minute")
        .isLessThan(ONE_WINDOW);
    long teamServed = 0;
    boolean teamBlocked = false;
    for (int i = 0; i < MEMBERS; i++) {
      Result race = results.get(i);
      long served = race.servedTokens();
      assertThat(served).as("served to %s", members.get(i)).isLessThanOrEqualTo(USER_LIMIT);
      assertThat(api.usage(members.get(i)).minute()).isEqualTo(served);
      teamServed += served;
      for (Outcome rejected : race.withStatus(429)) {
        teamBlocked |= "team".equals(rejected.answer().json().path("scope").stringValue(""));
      }
    }
    assertThat(teamServed).isLessThanOrEqualTo(TEAM_LIMIT);
    assertThat(teamBlocked).as("some member was stopped by the team's limit").isTrue();
    assertThat(api.usageAnswer(members.get(0)).json().path("team").path("minute").longValue())
        .isEqualTo(teamServed);
  }
}
