package io.simpletokenlimiter.config;

import io.simpletokenlimiter.limit.ConfiguredLimits;
import io.simpletokenlimiter.limit.LayeredLimits;
import io.simpletokenlimiter.limit.LimitOverride;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.RuntimeLimits;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TeamMove;
import io.simpletokenlimiter.limit.TokenWeights;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Per-tier and per-user limits from a YAML file that operators may edit while the service runs (a
 * Kubernetes ConfigMap, say):
 *
 * <pre>
 * tiers:
 *   pro: {max-tokens-per-minute: 5000, max-tokens-per-day: -1, max-concurrent-requests: 10, share: 2}
 *   batch: {max-tokens-per-month: 5000000, weights: {prompt: 1, completion: 3}}
 * teams:
 *   research: {max-tokens-per-minute: 3000, max-tokens-per-month: 2000000, max-concurrent-requests: 8}
 * users:
 *   alice: pro                              # a tier
 *   bob: {max-tokens-per-minute: 200}       # own limits; the rest from the defaults
 *   carol: {tier: pro, max-concurrent-requests: 2, team: research}
 * </pre>
 *
 * <p>A team's limits that the file does not set are unlimited: the defaults are per user. A tier's
 * {@code share} is its users' turns in a row when the model's capacity is full (see {@code
 * docs/waiting.md}); it is set on tiers only, and overrides {@code
 * token.limit.queue.shares.<tier>}.
 *
 * <p>A file that is invalid at start-up stops the service; an invalid edit later is logged and the
 * previous limits stay in force, so a typo never lifts every limit.
 */
public final class LimitOverridesFile implements ConfiguredLimits {

  private static final Logger log = LoggerFactory.getLogger(LimitOverridesFile.class);

  private final Path path;
  private final Limits defaults;
  private final TokenWeights weights;
  private final LayeredLimits layered;
  private volatile Parsed current;
  private volatile Consumer<List<TeamMove>> teamMoves = moves -> {};
  private volatile FileTime loadedVersion;

  public LimitOverridesFile(Path path, Limits defaults) {
    this(path, defaults, TokenWeights.ONE);
  }

  /**
   * @param weights the deployment's token weights, for tiers that set none
   */
  public LimitOverridesFile(Path path, Limits defaults, TokenWeights weights) {
    this.path = path;
    this.defaults = defaults;
    this.weights = weights;
    try {
      this.loadedVersion = Files.getLastModifiedTime(path);
      this.current = parse(Files.readString(path));
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalStateException(
          "token.limit.overrides-file " + path + " cannot be used: " + e.getMessage(), e);
    }
    this.layered = new LayeredLimits(this, RuntimeLimits.NONE);
    log.info("Per-user limits from {}: {} users", path, current.users().size());
  }

  /** The limits of the file alone, without run-time changes. */
  public Limits limitsFor(String userId) {
    return layered.limitsFor(userId);
  }

  @Override
  public Limits defaults() {
    return defaults;
  }

  @Override
  public Optional<LimitOverride> tier(String name) {
    return Optional.ofNullable(current.tiers().get(name));
  }

  @Override
  public Optional<LimitOverride> user(String userId) {
    return Optional.ofNullable(current.users().get(userId));
  }

  @Override
  public Optional<Team> team(String name) {
    return Optional.ofNullable(current.teams().get(name));
  }

  @Override
  public TokenWeights weights() {
    return weights;
  }

  @Override
  public Optional<TokenWeights> tierWeights(String tier) {
    return Optional.ofNullable(current.tierWeights().get(tier));
  }

  @Override
  public Optional<Integer> tierShare(String tier) {
    return Optional.ofNullable(current.tierShares().get(tier));
  }

  /** Reloads the file if it changed; keeps the limits in force if the new content is invalid. */
  public boolean reloadIfChanged() {
    try {
      FileTime version = Files.getLastModifiedTime(path);
      if (version.equals(loadedVersion)) {
        return false;
      }
      loadedVersion = version;
      Parsed previous = current;
      current = parse(Files.readString(path));
      List<TeamMove> moves = movesBetween(previous, current);
      if (!moves.isEmpty()) {
        log.info("{} users moved to another team: {}", moves.size(), moves);
        teamMoves.accept(moves);
      }
      log.info("Reloaded per-user limits from {}: {} users", path, current.users().size());
      return true;
    } catch (IOException | IllegalArgumentException e) {
      log.error(
          "Ignoring invalid per-user limits in {}; previous limits stay: {}", path, e.getMessage());
      return false;
    }
  }

  /** Tells {@code listener} of every user a reload moves to another team. */
  public void onTeamMoves(Consumer<List<TeamMove>> listener) {
    this.teamMoves = listener;
  }

  private static List<TeamMove> movesBetween(Parsed before, Parsed after) {
    Set<String> users = new HashSet<>(before.users().keySet());
    users.addAll(after.users().keySet());
    List<TeamMove> moves = new ArrayList<>();
    for (String user : users) {
      Optional<String> from = teamOf(before, user);
      Optional<String> to = teamOf(after, user);
      if (!from.equals(to)) {
        moves.add(new TeamMove(user, from, to));
      }
    }
    return moves;
  }

  private static Optional<String> teamOf(Parsed parsed, String user) {
    return Optional.ofNullable(parsed.users().get(user)).flatMap(LimitOverride::team);
  }

  /**
   * What the file says: each tier's limits, weights and share, each team, and each user's own
   * entry.
   */
  record Parsed(
      Map<String, LimitOverride> tiers,
      Map<String, TokenWeights> tierWeights,
      Map<String, Integer> tierShares,
      Map<String, Team> teams,
      Map<String, LimitOverride> users) {}

  /** What a team's limits start from: nothing the file does not set is limited. */
  private static final Limits TEAM_BASE =
      new Limits(
          Limits.UNLIMITED,
          Limits.UNLIMITED,
          Limits.UNLIMITED,
          Limits.UNLIMITED,
          Integer.MAX_VALUE);

  static Parsed parse(String yamlText) {
    Object document = new Yaml(new SafeConstructor(new LoaderOptions())).load(yamlText);
    Map<String, Object> root = mapOf(document == null ? Map.of() : document, "the file");
    for (String key : root.keySet()) {
      if (!key.equals("tiers") && !key.equals("teams") && !key.equals("users")) {
        throw new IllegalArgumentException("unknown top-level key '" + key + "'");
      }
    }
    Map<String, LimitOverride> tiers = new HashMap<>();
    Map<String, TokenWeights> tierWeights = new HashMap<>();
    Map<String, Integer> tierShares = new HashMap<>();
    mapOf(root.getOrDefault("tiers", Map.of()), "tiers")
        .forEach(
            (tier, spec) -> {
              String where = "tier " + tier;
              Map<String, Object> fields = new HashMap<>(mapOf(spec, where));
              Object weights = fields.remove(WEIGHTS_KEY);
              if (weights != null) {
                tierWeights.put(tier, weightsOf(mapOf(weights, where + " weights"), where));
              }
              if (fields.containsKey(SHARE_KEY)) {
                tierShares.put(tier, shareOf(fields.remove(SHARE_KEY), where));
              }
              tiers.put(tier, LimitOverride.parse(fields, false, where));
            });
    Map<String, Team> teams = new HashMap<>();
    mapOf(root.getOrDefault("teams", Map.of()), "teams")
        .forEach(
            (team, spec) -> {
              String where = "team " + team;
              try {
                Team.requireName(team);
              } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage());
              }
              Map<String, Object> fields = mapOf(spec, where);
              rejectShare(fields, where, "a team");
              LimitOverride limits = LimitOverride.parse(fields, false, where);
              teams.put(team, new Team(team, limits.applyTo(TEAM_BASE)));
            });
    Map<String, LimitOverride> users = new HashMap<>();
    mapOf(root.getOrDefault("users", Map.of()), "users")
        .forEach(
            (user, spec) -> {
              String where = "user " + user;
              if (spec instanceof Map<?, ?> fields) {
                rejectShare(fields, where, "a user");
              }
              LimitOverride entry =
                  spec instanceof String tier
                      ? LimitOverride.tierOnly(tier)
                      : LimitOverride.parse(mapOf(spec, where), true, true, where);
              entry
                  .tier()
                  .filter(tier -> !tiers.containsKey(tier))
                  .ifPresent(
                      tier -> {
                        throw new IllegalArgumentException(
                            where + " names unknown tier '" + tier + "'");
                      });
              entry
                  .team()
                  .filter(team -> !teams.containsKey(team))
                  .ifPresent(
                      team -> {
                        throw new IllegalArgumentException(
                            where + " names unknown team '" + team + "'");
                      });
              users.put(user, entry);
            });
    return new Parsed(
        Map.copyOf(tiers),
        Map.copyOf(tierWeights),
        Map.copyOf(tierShares),
        Map.copyOf(teams),
        Map.copyOf(users));
  }

  private static final String WEIGHTS_KEY = "weights";
  private static final String SHARE_KEY = "share";

  /** A tier's {@code share}: a whole number of turns in a row, at least 1. */
  private static int shareOf(Object value, String where) {
    if (!(value instanceof Integer share) || share < 1) {
      throw new IllegalArgumentException(
          where
              + ": share must be a whole number from 1 to "
              + Integer.MAX_VALUE
              + " (the tier's turns in a row when the model is full), was "
              + value);
    }
    return share;
  }

  /** Shares are a tier's: a user or team entry that sets one says where it belongs. */
  private static void rejectShare(Map<?, ?> fields, String where, String what) {
    if (fields.containsKey(SHARE_KEY)) {
      throw new IllegalArgumentException(
          where
              + ": share may be set on a tier only, not on "
              + what
              + "; give the users concerned a tier with that share");
    }
  }

  /**
   * A tier's {@code weights: {prompt: 1, completion: 3, cached-prompt: 0.5}}; a kind it leaves out
   * weighs 1.
   */
  private static TokenWeights weightsOf(Map<String, Object> fields, String where) {
    Map<String, BigDecimal> values = new HashMap<>();
    for (Map.Entry<String, Object> entry : fields.entrySet()) {
      if (!List.of("prompt", "completion", "cached-prompt").contains(entry.getKey())) {
        throw new IllegalArgumentException(
            where
                + ": unknown weight '"
                + entry.getKey()
                + "', expected prompt, completion or"
                + " cached-prompt");
      }
      if (!(entry.getValue() instanceof Number number)) {
        throw new IllegalArgumentException(
            where + ": weight " + entry.getKey() + " must be a number, was " + entry.getValue());
      }
      values.put(entry.getKey(), new BigDecimal(number.toString()));
    }
    try {
      return TokenWeights.of(
          values.getOrDefault("prompt", BigDecimal.ONE),
          values.getOrDefault("completion", BigDecimal.ONE),
          values.getOrDefault("cached-prompt", BigDecimal.ONE));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage());
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> mapOf(Object value, String where) {
    if (!(value instanceof Map<?, ?> map)) {
      throw new IllegalArgumentException(where + " must be a mapping");
    }
    for (Object key : map.keySet()) {
      if (!(key instanceof String)) {
        throw new IllegalArgumentException(where + " has a key that is not text: " + key);
      }
    }
    return (Map<String, Object>) map;
  }
}
