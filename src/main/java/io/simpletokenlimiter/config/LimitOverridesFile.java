package io.simpletokenlimiter.config;

import io.simpletokenlimiter.limit.ConfiguredLimits;
import io.simpletokenlimiter.limit.LayeredLimits;
import io.simpletokenlimiter.limit.LimitOverride;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.RuntimeLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
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
 *   pro: {max-tokens-per-minute: 5000, max-tokens-per-day: -1, max-concurrent-requests: 10}
 * users:
 *   alice: pro                              # a tier
 *   bob: {max-tokens-per-minute: 200}       # own limits; the rest from the defaults
 *   carol: {tier: pro, max-concurrent-requests: 2}
 * </pre>
 *
 * <p>A file that is invalid at start-up stops the service; an invalid edit later is logged and the
 * previous limits stay in force, so a typo never lifts every limit.
 */
public final class LimitOverridesFile implements ConfiguredLimits {

  private static final Logger log = LoggerFactory.getLogger(LimitOverridesFile.class);

  private final Path path;
  private final Limits defaults;
  private final LayeredLimits layered;
  private volatile Parsed current;
  private volatile FileTime loadedVersion;

  public LimitOverridesFile(Path path, Limits defaults) {
    this.path = path;
    this.defaults = defaults;
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

  /** Reloads the file if it changed; keeps the limits in force if the new content is invalid. */
  public boolean reloadIfChanged() {
    try {
      FileTime version = Files.getLastModifiedTime(path);
      if (version.equals(loadedVersion)) {
        return false;
      }
      loadedVersion = version;
      current = parse(Files.readString(path));
      log.info("Reloaded per-user limits from {}: {} users", path, current.users().size());
      return true;
    } catch (IOException | IllegalArgumentException e) {
      log.error(
          "Ignoring invalid per-user limits in {}; previous limits stay: {}", path, e.getMessage());
      return false;
    }
  }

  /** What the file says: each tier's limits, and each user's own entry. */
  record Parsed(Map<String, LimitOverride> tiers, Map<String, LimitOverride> users) {}

  static Parsed parse(String yamlText) {
    Object document = new Yaml(new SafeConstructor(new LoaderOptions())).load(yamlText);
    Map<String, Object> root = mapOf(document == null ? Map.of() : document, "the file");
    for (String key : root.keySet()) {
      if (!key.equals("tiers") && !key.equals("users")) {
        throw new IllegalArgumentException("unknown top-level key '" + key + "'");
      }
    }
    Map<String, LimitOverride> tiers = new HashMap<>();
    mapOf(root.getOrDefault("tiers", Map.of()), "tiers")
        .forEach(
            (tier, spec) ->
                tiers.put(
                    tier, LimitOverride.parse(mapOf(spec, "tier " + tier), false, "tier " + tier)));
    Map<String, LimitOverride> users = new HashMap<>();
    mapOf(root.getOrDefault("users", Map.of()), "users")
        .forEach(
            (user, spec) -> {
              String where = "user " + user;
              LimitOverride entry =
                  spec instanceof String tier
                      ? LimitOverride.tierOnly(tier)
                      : LimitOverride.parse(mapOf(spec, where), true, where);
              entry
                  .tier()
                  .filter(tier -> !tiers.containsKey(tier))
                  .ifPresent(
                      tier -> {
                        throw new IllegalArgumentException(
                            where + " names unknown tier '" + tier + "'");
                      });
              users.put(user, entry);
            });
    return new Parsed(Map.copyOf(tiers), Map.copyOf(users));
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
