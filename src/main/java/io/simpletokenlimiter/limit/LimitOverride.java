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
 */
public record LimitOverride(Map<LimitField, Long> values, Optional<String> tier) {

  public static final String TIER_KEY = "tier";

  public LimitOverride {
    values = values.isEmpty() ? Map.of() : new EnumMap<>(values);
    values.forEach(LimitField::validate);
    values = Collections.unmodifiableMap(values);
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
    Map<LimitField, Long> values = new EnumMap<>(LimitField.class);
    Optional<String> tier = Optional.empty();
    for (Map.Entry<String, ?> entry : fields.entrySet()) {
      String key = entry.getKey();
      Object value = entry.getValue();
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
    return new LimitOverride(values, tier);
  }

  /** {@code base} with the fields this sets replaced (the tier is the caller's to apply). */
  public Limits applyTo(Limits base) {
    return new Limits(
        values.getOrDefault(LimitField.MINUTE, base.tokensPerMinute()),
        values.getOrDefault(LimitField.HOUR, base.tokensPerHour()),
        values.getOrDefault(LimitField.DAY, base.tokensPerDay()),
        Math.toIntExact(values.getOrDefault(LimitField.CONCURRENT, (long) base.maxConcurrent())));
  }

  /** The fields as the overrides file writes them, tier first. */
  public Map<String, Object> toMap() {
    Map<String, Object> map = new LinkedHashMap<>();
    tier.ifPresent(name -> map.put(TIER_KEY, name));
    values.forEach((field, value) -> map.put(field.key(), value));
    return map;
  }

  private static String keys(boolean tierAllowed) {
    String fields = Arrays.stream(LimitField.values()).map(LimitField::key).toList().toString();
    return tierAllowed ? fields.replace("]", ", " + TIER_KEY + "]") : fields;
  }
}
