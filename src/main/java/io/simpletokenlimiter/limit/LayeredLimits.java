package io.simpletokenlimiter.limit;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The limits of a user, layer over layer. For each limit the first layer that sets it wins:
 *
 * <ol>
 *   <li>{@code runtime}: the user's run-time limits (admin API),
 *   <li>{@code file}: the user's own entry in the overrides file,
 *   <li>{@code tier}: the user's tier, the one the run-time limits name, else the file's,
 *   <li>{@code default}: the defaults.
 * </ol>
 */
public final class LayeredLimits implements LimitsResolver {

  private final ConfiguredLimits configured;
  private final RuntimeLimits runtime;
  private final Map<String, String> keyTeams;
  private volatile EffectiveLimits defaultsCache;

  public LayeredLimits(ConfiguredLimits configured, RuntimeLimits runtime) {
    this(configured, runtime, Map.of());
  }

  /**
   * @param keyTeams the team of users whose API key names one, for users whose entry in the
   *     overrides file names none; every team must be one the configuration defines
   */
  public LayeredLimits(
      ConfiguredLimits configured, RuntimeLimits runtime, Map<String, String> keyTeams) {
    keyTeams.forEach(
        (user, team) -> {
          if (configured.team(team).isEmpty()) {
            throw new IllegalArgumentException(
                "the API key of "
                    + user
                    + " names team '"
                    + team
                    + "', which the overrides file"
                    + " does not define");
          }
        });
    this.configured = configured;
    this.runtime = runtime;
    this.keyTeams = Map.copyOf(keyTeams);
  }

  @Override
  public Limits limitsFor(String userId) {
    return explain(userId).limits();
  }

  /**
   * The user's limits; their team from the overrides file, else from their API key (the files, not
   * the admin API, say who belongs where); the weights of their tier, else the deployment's.
   */
  @Override
  public Budget budgetFor(String userId) {
    EffectiveLimits effective = explain(userId);
    Optional<Team> team =
        configured
            .user(userId)
            .flatMap(LimitOverride::team)
            .or(() -> Optional.ofNullable(keyTeams.get(userId)))
            .flatMap(configured::team);
    TokenWeights weights =
        effective.tier().flatMap(configured::tierWeights).orElseGet(configured::weights);
    return new Budget(effective.limits(), team, weights);
  }

  /**
   * The effective limits of a user without overrides: the same for most users on every request, so
   * kept until the defaults change (a reload of the overrides file).
   */
  private EffectiveLimits defaultsOnly(Limits defaults) {
    EffectiveLimits cached = defaultsCache;
    if (cached == null || cached.limits() != defaults) {
      cached = EffectiveLimits.defaults(defaults);
      defaultsCache = cached;
    }
    return cached;
  }

  /** The effective limits and where each comes from. */
  public EffectiveLimits explain(String userId) {
    Optional<LimitOverride> atRuntime = runtime.get(userId);
    Optional<LimitOverride> inFile = configured.user(userId);
    if (atRuntime.isEmpty() && inFile.isEmpty()) {
      return defaultsOnly(configured.defaults());
    }
    Optional<String> tier = atRuntime.flatMap(LimitOverride::tier);
    Optional<LimitSource> tierSource = tier.map(name -> LimitSource.RUNTIME);
    if (tier.isEmpty()) {
      tier = inFile.flatMap(LimitOverride::tier);
      tierSource = tier.map(name -> LimitSource.FILE);
    }
    Optional<LimitOverride> tierLimits = tier.flatMap(configured::tier);
    Limits defaults = configured.defaults();
    Map<LimitField, Long> values = new EnumMap<>(LimitField.class);
    Map<LimitField, LimitSource> sources = new EnumMap<>(LimitField.class);
    for (LimitField field : LimitField.values()) {
      values.put(field, field.of(defaults));
      sources.put(field, LimitSource.DEFAULT);
    }
    // Lowest layer first; each layer above overwrites what it sets.
    tierLimits.ifPresent(layer -> lay(layer, LimitSource.TIER, values, sources));
    inFile.ifPresent(layer -> lay(layer, LimitSource.FILE, values, sources));
    atRuntime.ifPresent(layer -> lay(layer, LimitSource.RUNTIME, values, sources));
    Limits limits =
        new Limits(
            values.get(LimitField.MINUTE),
            values.get(LimitField.HOUR),
            values.get(LimitField.DAY),
            values.get(LimitField.MONTH),
            Math.toIntExact(values.get(LimitField.CONCURRENT)));
    return new EffectiveLimits(limits, sources, tier, tierSource);
  }

  /**
   * The share of the model's turns that the configuration (the overrides file, as last loaded)
   * gives the tier {@code name}, if it sets one.
   */
  public Optional<Integer> tierShare(String name) {
    return configured.tierShare(name);
  }

  /** Whether configuration defines the tier {@code name}: a run-time tier must name one. */
  public boolean tierExists(String name) {
    return configured.tier(name).isPresent();
  }

  private static void lay(
      LimitOverride layer,
      LimitSource source,
      Map<LimitField, Long> values,
      Map<LimitField, LimitSource> sources) {
    layer
        .values()
        .forEach(
            (field, value) -> {
              values.put(field, value);
              sources.put(field, source);
            });
  }
}
