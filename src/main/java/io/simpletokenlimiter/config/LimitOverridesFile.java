package io.simpletokenlimiter.config;

import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.LimitsResolver;
import io.simpletokenlimiter.limit.UserLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
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
public final class LimitOverridesFile implements LimitsResolver {

  private static final Logger log = LoggerFactory.getLogger(LimitOverridesFile.class);
  private static final Set<String> LIMIT_KEYS =
      Set.of(
          "max-tokens-per-minute",
          "max-tokens-per-hour",
          "max-tokens-per-day",
          "max-concurrent-requests");

  private final Path path;
  private final Limits defaults;
  private volatile UserLimits current;
  private volatile FileTime loadedVersion;

  public LimitOverridesFile(Path path, Limits defaults) {
    this.path = path;
    this.defaults = defaults;
    try {
      this.loadedVersion = Files.getLastModifiedTime(path);
      this.current = parse(Files.readString(path), defaults);
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalStateException(
          "token.limit.overrides-file " + path + " cannot be used: " + e.getMessage(), e);
    }
    log.info("Per-user limits from {}: {} users", path, current.perUser().size());
  }

  @Override
  public Limits limitsFor(String userId) {
    return current.limitsFor(userId);
  }

  /** Reloads the file if it changed; keeps the limits in force if the new content is invalid. */
  public boolean reloadIfChanged() {
    try {
      FileTime version = Files.getLastModifiedTime(path);
      if (version.equals(loadedVersion)) {
        return false;
      }
      loadedVersion = version;
      current = parse(Files.readString(path), defaults);
      log.info("Reloaded per-user limits from {}: {} users", path, current.perUser().size());
      return true;
    } catch (IOException | IllegalArgumentException e) {
      log.error(
          "Ignoring invalid per-user limits in {}; previous limits stay: {}", path, e.getMessage());
      return false;
    }
  }

  static UserLimits parse(String yamlText, Limits defaults) {
    Object document = new Yaml(new SafeConstructor(new LoaderOptions())).load(yamlText);
    Map<String, Object> root = mapOf(document == null ? Map.of() : document, "the file");
    for (String key : root.keySet()) {
      if (!key.equals("tiers") && !key.equals("users")) {
        throw new IllegalArgumentException("unknown top-level key '" + key + "'");
      }
    }
    Map<String, Limits> tiers = new HashMap<>();
    mapOf(root.getOrDefault("tiers", Map.of()), "tiers")
        .forEach(
            (tier, spec) ->
                tiers.put(tier, apply(defaults, mapOf(spec, "tier " + tier), "tier " + tier)));
    Map<String, Limits> users = new HashMap<>();
    mapOf(root.getOrDefault("users", Map.of()), "users")
        .forEach((user, spec) -> users.put(user, userLimits(user, spec, tiers, defaults)));
    return new UserLimits(defaults, users);
  }

  private static Limits userLimits(
      String user, Object spec, Map<String, Limits> tiers, Limits defaults) {
    String where = "user " + user;
    if (spec instanceof String tier) {
      return tierOf(tier, tiers, where);
    }
    Map<String, Object> fields = new HashMap<>(mapOf(spec, where));
    Object tier = fields.remove("tier");
    Limits base = tier == null ? defaults : tierOf(String.valueOf(tier), tiers, where);
    return apply(base, fields, where);
  }

  private static Limits tierOf(String tier, Map<String, Limits> tiers, String where) {
    Limits limits = tiers.get(tier);
    if (limits == null) {
      throw new IllegalArgumentException(where + " names unknown tier '" + tier + "'");
    }
    return limits;
  }

  private static Limits apply(Limits base, Map<String, Object> fields, String where) {
    for (String key : fields.keySet()) {
      if (!LIMIT_KEYS.contains(key)) {
        throw new IllegalArgumentException(
            where + ": unknown key '" + key + "', expected one of " + LIMIT_KEYS);
      }
    }
    try {
      return new Limits(
          number(fields, "max-tokens-per-minute", base.tokensPerMinute(), where),
          number(fields, "max-tokens-per-hour", base.tokensPerHour(), where),
          number(fields, "max-tokens-per-day", base.tokensPerDay(), where),
          Math.toIntExact(number(fields, "max-concurrent-requests", base.maxConcurrent(), where)));
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(where + ": max-concurrent-requests is too large");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage());
    }
  }

  private static long number(Map<String, Object> fields, String key, long fallback, String where) {
    Object value = fields.get(key);
    if (value == null) {
      return fallback;
    }
    if (value instanceof Integer || value instanceof Long) {
      return ((Number) value).longValue();
    }
    throw new IllegalArgumentException(
        where + ": " + key + " must be a whole number, was " + value);
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
