package io.simpletokenlimiter.limit;

import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Some limits of a tier or a user, over the limits beneath them: what one entry of the overrides
 * file or one {@code PUT /api/v1/admin/limits/{userId}} sets. Fields not set come from beneath.
 *
 * @param tier the tier the user belongs to, whose limits lie beneath these; never for a tier
 * @param team the team the user belongs to, whose limits apply beside these; only in a user's entry
 *     of the overrides file
 */
public record LimitOverride(
    Map<LimitField, Long> values, Optional<String> tier, Optional<String> team) {

  public static final String TIER_KEY = "tier";
  public static final String TEAM_KEY = "team";

  public LimitOverride {
    values = values.isEmpty() ? Map.of() : new EnumMap<>(values);
    values.forEach(LimitField::validate);
    values = Collections.unmodifiableMap(values);
  }

  /** Limits and a tier, in no team. */
  public LimitOverride(Map<LimitField, Long> values, Optional<String> tier) {
    this(values, tier, Optional.empty());
  }

  public static LimitOverride tierOnly(String tier) {
    return new LimitOverride(Map.of(), Optional.of(tier));
  }

  /**
   * Reads {@code fields} (configuration names to whole numbers, and {@code tier} if {@code
   * tierAllowed}); every problem is an {@link IllegalArgumentException} whose message starts with
   * {@code where}.
   */
  public static LimitOverride parse(Map<String, ?> fields, boolean tierAllowed, String where) {
    return parse(fields, tierAllowed, false, where);
  }

  /** As {@link #parse(Map, boolean, String)}, with {@code team} too if {@code teamAllowed}. */
  public static LimitOverride parse(
      Map<String, ?> fields, boolean tierAllowed, boolean teamAllowed, String where) {
    Map<LimitField, Long> values = new EnumMap<>(LimitField.class);
    Optional<String> tier = Optional.empty();
    Optional<String> team = Optional.empty();
    for (Map.Entry<String, ?> entry : fields.entrySet()) {
      String key = entry.getKey();
      Object value = entry.getValue();
      if (teamAllowed && key.equals(TEAM_KEY)) {
        if (!(value instanceof String name)) {
          throw new IllegalArgumentException(where + ": team must be a team's name, was " + value);
        }
        try {
          Team.requireName(name);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(where + ": " + e.getMessage());
        }
        team = Optional.of(name);
        continue;
      }
      if (tierAllowed && key.equals(TIER_KEY)) {
        if (!(value instanceof String name) || name.isBlank()) {
          throw new IllegalArgumentException(where + ": tier must be a tier's name, was " + value);
        }
        tier = Optional.of(name);
        continue;
      }
      LimitField field = LimitField.byKey(key);
      if (field == null) {
        throw new IllegalArgumentException(
            where + ": unknown key '" + key + "', expected one of " + keys(tierAllowed));
      }
      if (!(value instanceof Integer || value instanceof Long)) {
        throw new IllegalArgumentException(
            where + ": " + key + " must be a whole number, was " + value);
      }
      long number = ((Number) value).longValue();
      try {
        field.validate(number);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
      values.put(field, number);
    }
    return new LimitOverride(values, tier, team);
  }

  /** {@code base} with the fields this sets replaced (the tier is the caller's to apply). */
  public Limits applyTo(Limits base) {
    return new Limits(
        values.getOrDefault(LimitField.MINUTE, base.tokensPerMinute()),
        values.getOrDefault(LimitField.HOUR, base.tokensPerHour()),
        values.getOrDefault(LimitField.DAY, base.tokensPerDay()),
        values.getOrDefault(LimitField.MONTH, base.tokensPerMonth()),
        Math.toIntExact(values.getOrDefault(LimitField.CONCURRENT, (long) base.maxConcurrent())));
  }

  /** The fields as the overrides file writes them, tier first. */
  public Map<String, Object> toMap() {
    Map<String, Object> map = new LinkedHashMap<>();
    tier.ifPresent(name -> map.put(TIER_KEY, name));
    team.ifPresent(name -> map.put(TEAM_KEY, name));
    values.forEach((field, value) -> map.put(field.key(), value));
    return map;
  }

  private static String keys(boolean tierAllowed) {
    String fields = Arrays.stream(LimitField.values()).map(LimitField::key).toList().toString();
    return tierAllowed ? fields.replace("]", ", " + TIER_KEY + "]") : fields;
  }
}
