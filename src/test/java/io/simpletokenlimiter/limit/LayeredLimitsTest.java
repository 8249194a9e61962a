package io.simpletokenlimiter.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.simpletokenlimiter.limit.store.memory.MemoryRuntimeLimits;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LayeredLimitsTest {

  private static final Limits DEFAULTS = new Limits(1_000, 10_000, 100_000, 5);
  private static final LimitOverride PRO =
      LimitOverride.parse(
          Map.of("max-tokens-per-minute", 5_000, "max-concurrent-requests", 9), false, "tier pro");
  private static final LimitOverride GOLD =
      LimitOverride.parse(Map.of("max-tokens-per-hour", 50_000), false, "tier gold");

  private final MemoryRuntimeLimits runtime = new MemoryRuntimeLimits();
  private final LayeredLimits layered =
      new LayeredLimits(
          new ConfiguredLimits() {
            @Override
            public Limits defaults() {
              return DEFAULTS;
            }

            @Override
            public Optional<LimitOverride> tier(String name) {
              return Optional.ofNullable(Map.of("pro", PRO, "gold", GOLD).get(name));
            }

            @Override
            public Optional<LimitOverride> user(String userId) {
              return userId.equals("filed")
                  ? Optional.of(
                      LimitOverride.parse(
                          Map.of("tier", "pro", "max-tokens-per-day", 7_000), true, "user filed"))
                  : Optional.empty();
            }

            @Override
            public Optional<Team> team(String name) {
              return Optional.empty();
            }

            @Override
            public TokenWeights weights() {
              return TokenWeights.ONE;
            }

            @Override
            public Optional<TokenWeights> tierWeights(String tier) {
              return Optional.empty();
            }
          },
          runtime);

  @Test
  void aUserWithoutEntriesHasTheDefaults() {
    EffectiveLimits effective = layered.explain("nobody");

    assertThat(effective.limits()).isEqualTo(DEFAULTS);
    assertThat(effective.sources()).containsOnlyKeys(LimitField.values());
    assertThat(effective.sources().values()).containsOnly(LimitSource.DEFAULT);
    assertThat(effective.tier()).isEmpty();
  }

  @Test
  void theFileLiesOverItsTierAndRunTimeOverBoth() {
    assertThat(layered.limitsFor("filed")).isEqualTo(new Limits(5_000, 10_000, 7_000, 9));

    runtime
        .put(
            "filed",
            LimitOverride.parse(
                Map.of("max-tokens-per-day", 8_000, "max-concurrent-requests", 2), true, "x"))
        .block();

    EffectiveLimits effective = layered.explain("filed");
    assertThat(effective.limits()).isEqualTo(new Limits(5_000, 10_000, 8_000, 2));
    assertThat(effective.sources())
        .containsEntry(LimitField.MINUTE, LimitSource.TIER)
        .containsEntry(LimitField.HOUR, LimitSource.DEFAULT)
        .containsEntry(LimitField.DAY, LimitSource.RUNTIME)
        .containsEntry(LimitField.CONCURRENT, LimitSource.RUNTIME);
    assertThat(effective.tierSource()).contains(LimitSource.FILE);
  }

  @Test
  void aRunTimeTierReplacesTheFilesTier() {
    runtime.put("filed", LimitOverride.parse(Map.of("tier", "gold"), true, "x")).block();

    EffectiveLimits effective = layered.explain("filed");

    assertThat(effective.limits()).isEqualTo(new Limits(1_000, 50_000, 7_000, 5));
    assertThat(effective.tier()).contains("gold");
    assertThat(effective.tierSource()).contains(LimitSource.RUNTIME);
    assertThat(layered.tierExists("gold")).isTrue();
    assertThat(layered.tierExists("platinum")).isFalse();

    runtime.remove("filed").block();
    assertThat(layered.limitsFor("filed")).isEqualTo(new Limits(5_000, 10_000, 7_000, 9));
  }

  @Test
  void anOverrideFollowsTheOneRuleOfEachLimit() {
    assertThatThrownBy(() -> LimitOverride.parse(Map.of("max-tokens-per-hour", 0), true, "body"))
        .hasMessage("body: tokens per hour limit must be at least 1, or -1 for unlimited, was 0");
    assertThatThrownBy(
            () -> LimitOverride.parse(Map.of("max-concurrent-requests", -1), true, "body"))
        .hasMessageContaining("body: concurrent requests limit must be between 1 and");
    assertThatThrownBy(() -> LimitOverride.parse(Map.of("tier", "pro"), false, "tier x"))
        .hasMessageContaining("tier x: unknown key 'tier'");
    assertThat(LimitOverride.parse(Map.of("max-tokens-per-day", -1L), true, "body").toMap())
        .isEqualTo(Map.of("max-tokens-per-day", -1L));
  }

  @Test
  void aUserWithoutOverridesFollowsTheDefaultsWhenTheyChange() {
    AtomicReference<Limits> defaults = new AtomicReference<>(DEFAULTS);
    LayeredLimits reloadable =
        new LayeredLimits(ConfiguredLimits.of(defaults::get, TokenWeights.ONE), runtime);
    assertThat(reloadable.explain("plain").limits()).isEqualTo(DEFAULTS);

    Limits reloaded = new Limits(2_000, 20_000, 200_000, 7);
    defaults.set(reloaded);

    assertThat(reloadable.explain("plain").limits()).isEqualTo(reloaded);
    assertThat(reloadable.explain("plain").sources().values()).containsOnly(LimitSource.DEFAULT);
  }
}
