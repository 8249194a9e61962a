package io.simpletokenlimiter.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.simpletokenlimiter.limit.Budget;
import io.simpletokenlimiter.limit.LayeredLimits;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.RuntimeLimits;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TeamMove;
import io.simpletokenlimiter.limit.TokenWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LimitOverridesFileTest {

  private static final Limits DEFAULTS = new Limits(1_000, 10_000, 100_000, 5);

  @TempDir Path dir;

  @Test
  void usersGetTheirTierTheirOwnLimitsOrTheDefaults() throws IOException {
    LimitOverridesFile file =
        new LimitOverridesFile(
            write(
                """
                tiers:
                  pro: {max-tokens-per-minute: 5000, max-tokens-per-day: -1, max-concurrent-requests: 10}
                users:
                  alice: pro
                  bob: {max-tokens-per-minute: 200}
                  carol: {tier: pro, max-concurrent-requests: 2}
                """),
            DEFAULTS);

    assertThat(file.limitsFor("alice")).isEqualTo(new Limits(5_000, 10_000, Limits.UNLIMITED, 10));
    assertThat(file.limitsFor("bob")).isEqualTo(new Limits(200, 10_000, 100_000, 5));
    assertThat(file.limitsFor("carol")).isEqualTo(new Limits(5_000, 10_000, Limits.UNLIMITED, 2));
    assertThat(file.limitsFor("dave")).isEqualTo(DEFAULTS);
  }

  @Test
  void teamsTierWeightsAndMonthlyQuotasComeFromTheFile() throws IOException {
    LimitOverridesFile file =
        new LimitOverridesFile(
            write(
                """
                tiers:
                  batch: {max-tokens-per-month: 5000000, weights: {prompt: 1, completion: 3, cached-prompt: 0.5}}
                teams:
                  research: {max-tokens-per-minute: 3000, max-tokens-per-month: 2000000, max-concurrent-requests: 8}
                users:
                  alice: {tier: batch, team: research}
                  bob: {team: research}
                """),
            DEFAULTS,
            new TokenWeights(1_000, 2_000, 1_000));
    LayeredLimits limits = new LayeredLimits(file, RuntimeLimits.NONE);

    Budget alice = limits.budgetFor("alice");
    assertThat(alice.limits()).isEqualTo(new Limits(1_000, 10_000, 100_000, 5_000_000, 5));
    assertThat(alice.weights()).isEqualTo(new TokenWeights(1_000, 3_000, 500));
    assertThat(alice.team())
        .contains(
            new Team(
                "research", new Limits(3_000, Limits.UNLIMITED, Limits.UNLIMITED, 2_000_000, 8)));
    assertThat(limits.budgetFor("bob").team()).isEqualTo(alice.team());
    assertThat(limits.budgetFor("bob").weights()).isEqualTo(new TokenWeights(1_000, 2_000, 1_000));
    assertThat(limits.budgetFor("carol").team()).isEmpty();
  }

  @Test
  void anApiKeyMayPutItsUserInATeamTheFileDefines() throws IOException {
    LimitOverridesFile file =
        new LimitOverridesFile(
            write(
                """
                teams:
                  research: {max-tokens-per-minute: 3000}
                  sales: {}
                users:
                  alice: {team: research}
                """),
            DEFAULTS);

    LayeredLimits limits =
        new LayeredLimits(file, RuntimeLimits.NONE, Map.of("carol", "research", "alice", "sales"));
    assertThat(limits.budgetFor("carol").team()).map(Team::name).contains("research");
    assertThat(limits.budgetFor("alice").team()).map(Team::name).contains("research");
    assertThat(limits.budgetFor("bob").team()).isEmpty();
    assertThatThrownBy(() -> new LayeredLimits(file, RuntimeLimits.NONE, Map.of("dave", "x")))
        .hasMessageContaining("the API key of dave names team 'x'");
  }

  @Test
  void aUserInAnUnknownTeamOrABadWeightStopsStartUp() throws IOException {
    assertThatThrownBy(() -> new LimitOverridesFile(write("users: {bob: {team: sales}}"), DEFAULTS))
        .hasMessageContaining("user bob names unknown team 'sales'");
    assertThatThrownBy(
            () ->
                new LimitOverridesFile(
                    write("tiers: {t: {weights: {completion: 0.0001}}}"), DEFAULTS))
        .hasMessageContaining("tier t: completion weight may have at most three decimals");
    assertThatThrownBy(
            () -> new LimitOverridesFile(write("tiers: {t: {weights: {output: 2}}}"), DEFAULTS))
        .hasMessageContaining("unknown weight 'output'");
  }

  @Test
  void aReloadTellsWhoMovedToAnotherTeam() throws IOException {
    Path path =
        write(
            """
            teams: {research: {}, sales: {}}
            users: {alice: {team: research}, bob: {team: research}, carol: {}}
            """);
    LimitOverridesFile file = new LimitOverridesFile(path, DEFAULTS);
    List<TeamMove> moves = new ArrayList<>();
    file.onTeamMoves(moves::addAll);

    Files.writeString(
        path,
        """
        teams: {research: {}, sales: {}}
        users: {alice: {team: sales}, bob: {team: research}, carol: {team: sales}}
        """);
    Files.setLastModifiedTime(path, FileTime.from(Instant.now().plusSeconds(60)));
    assertThat(file.reloadIfChanged()).isTrue();

    assertThat(moves)
        .containsExactlyInAnyOrder(
            new TeamMove("alice", Optional.of("research"), Optional.of("sales")),
            new TeamMove("carol", Optional.empty(), Optional.of("sales")));
  }

  @Test
  void aTierMaySetItsShareOfTheModelsTurns() throws IOException {
    LimitOverridesFile file =
        new LimitOverridesFile(
            write(
                """
                tiers:
                  pro: {max-tokens-per-minute: 50000, share: 2}
                  free: {}
                users:
                  alice: pro
                """),
            DEFAULTS);

    assertThat(file.tierShare("pro")).contains(2);
    assertThat(file.tierShare("free")).isEmpty();
    assertThat(file.tierShare("gold")).isEmpty();
    // The share is not a limit: the tier's limits are as if it were not there.
    assertThat(file.limitsFor("alice")).isEqualTo(new Limits(50_000, 10_000, 100_000, 5));
  }

  @Test
  void aShareThatIsNotAPositiveWholeNumberStopsStartUp() throws IOException {
    for (String share : List.of("0", "-1", "1.5", "2.0", "two", "true", "3000000000", "''")) {
      assertThatThrownBy(
              () -> new LimitOverridesFile(write("tiers: {pro: {share: " + share + "}}"), DEFAULTS))
          .as("share: %s", share)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("token.limit.overrides-file")
          .hasMessageContaining("tier pro: share must be a whole number from 1 to 2147483647");
    }
    assertThatThrownBy(() -> new LimitOverridesFile(write("tiers: {pro: {share: }}"), DEFAULTS))
        .hasMessageContaining("tier pro: share must be a whole number from 1 to 2147483647")
        .hasMessageEndingWith("was null");
  }

  @Test
  void aShareOnAUserOrATeamOrAMisspeltShareStopsStartUp() throws IOException {
    assertThatThrownBy(
            () ->
                new LimitOverridesFile(
                    write("tiers: {pro: {}}\nusers: {bob: {tier: pro, share: 2}}"), DEFAULTS))
        .hasMessageContaining("user bob: share may be set on a tier only, not on a user");
    assertThatThrownBy(
            () -> new LimitOverridesFile(write("teams: {research: {share: 2}}"), DEFAULTS))
        .hasMessageContaining("team research: share may be set on a tier only, not on a team");
    assertThatThrownBy(() -> new LimitOverridesFile(write("tiers: {pro: {shares: 2}}"), DEFAULTS))
        .hasMessageContaining("tier pro: unknown key 'shares'");
  }

  @Test
  void aReloadChangesATiersShareAndAnInvalidShareIsIgnored() throws IOException {
    Path path = write("tiers: {pro: {share: 2}}");
    LimitOverridesFile file = new LimitOverridesFile(path, DEFAULTS);

    rewrite(path, "tiers: {pro: {share: 3}, free: {share: 1}}", 1);
    assertThat(file.reloadIfChanged()).isTrue();
    assertThat(file.tierShare("pro")).contains(3);
    assertThat(file.tierShare("free")).contains(1);

    rewrite(path, "tiers: {pro: {share: 0}}", 2);
    assertThat(file.reloadIfChanged()).isFalse();
    assertThat(file.tierShare("pro")).contains(3);

    rewrite(path, "tiers: {pro: {}}", 3);
    assertThat(file.reloadIfChanged()).isTrue();
    assertThat(file.tierShare("pro")).isEmpty();
  }

  @Test
  void theDeployedExampleLoadsAsDocumented() {
    LimitOverridesFile file =
        new LimitOverridesFile(Path.of("deploy/limits.example.yml"), DEFAULTS);
    LayeredLimits limits = new LayeredLimits(file, RuntimeLimits.NONE);

    assertThat(file.tierShare("pro")).contains(2);
    assertThat(file.tierShare("batch")).isEmpty();
    assertThat(file.tierWeights("batch")).contains(new TokenWeights(1_000, 3_000, 500));
    assertThat(limits.budgetFor("carol").team()).map(Team::name).contains("research");
    assertThat(file.limitsFor("nightly-report@example.com").tokensPerMonth()).isEqualTo(5_000_000);
  }

  @Test
  void anEmptyFileMeansTheDefaultsForEveryone() throws IOException {
    assertThat(new LimitOverridesFile(write(""), DEFAULTS).limitsFor("x")).isEqualTo(DEFAULTS);
  }

  @Test
  void anInvalidFileStopsStartUpWithAMessageNamingTheProblem() throws IOException {
    assertThatThrownBy(() -> new LimitOverridesFile(write("users: {bob: gold}"), DEFAULTS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("token.limit.overrides-file")
        .hasMessageContaining("user bob names unknown tier 'gold'");
    assertThatThrownBy(
            () ->
                new LimitOverridesFile(write("users: {bob: {max-tokens-per-minute: 0}}"), DEFAULTS))
        .hasMessageContaining("user bob: tokens per minute limit must be at least 1");
    assertThatThrownBy(
            () ->
                new LimitOverridesFile(
                    write("tiers: {big: {max-tokens-per-hour: 1000000000000001}}"), DEFAULTS))
        .hasMessageContaining(
            "tier big: tokens per hour limit must be at most 1000000000000000, or -1 for"
                + " unlimited, was 1000000000000001");
    assertThatThrownBy(
            () -> new LimitOverridesFile(write("users: {bob: {max-tokens: 10}}"), DEFAULTS))
        .hasMessageContaining("unknown key 'max-tokens'");
    assertThatThrownBy(() -> new LimitOverridesFile(write("limits: {}"), DEFAULTS))
        .hasMessageContaining("unknown top-level key 'limits'");
    assertThatThrownBy(
            () ->
                new LimitOverridesFile(write("users: {bob: {max-tokens-per-day: lots}}"), DEFAULTS))
        .hasMessageContaining("max-tokens-per-day must be a whole number");
    assertThatThrownBy(() -> new LimitOverridesFile(dir.resolve("missing.yml"), DEFAULTS))
        .hasMessageContaining("missing.yml");
  }

  @Test
  void editsApplyWithoutARestartAndInvalidEditsAreIgnored() throws IOException {
    Path path = write("users: {bob: {max-tokens-per-minute: 200}}");
    LimitOverridesFile file = new LimitOverridesFile(path, DEFAULTS);
    assertThat(file.reloadIfChanged()).isFalse();

    rewrite(path, "users: {bob: {max-tokens-per-minute: 300}}", 1);
    assertThat(file.reloadIfChanged()).isTrue();
    assertThat(file.limitsFor("bob").tokensPerMinute()).isEqualTo(300);

    rewrite(path, "users: {bob: [not, a, mapping]}", 2);
    assertThat(file.reloadIfChanged()).isFalse();
    assertThat(file.limitsFor("bob").tokensPerMinute()).isEqualTo(300);
  }

  private Path write(String yaml) throws IOException {
    Path path = dir.resolve("limits.yml");
    Files.writeString(path, yaml);
    return path;
  }

  /** Rewrites with a distinct modification time: some file systems keep whole seconds. */
  private static void rewrite(Path path, String yaml, int version) throws IOException {
    Files.writeString(path, yaml);
    Files.setLastModifiedTime(
        path, FileTime.from(Instant.parse("2030-01-01T00:00:00Z").plusSeconds(version)));
  }
}
