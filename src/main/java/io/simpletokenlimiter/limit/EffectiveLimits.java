package io.simpletokenlimiter.limit;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The limits that apply to a user and where each comes from.
 *
 * @param tier the user's tier, if any, and who chose it ({@link LimitSource#FILE} or {@link
 *     LimitSource#RUNTIME})
 */
public record EffectiveLimits(
    Limits limits,
    Map<LimitField, LimitSource> sources,
    Optional<String> tier,
    Optional<LimitSource> tierSource) {

  public EffectiveLimits {
    sources = Collections.unmodifiableMap(new EnumMap<>(sources));
  }

  /** Every limit from the defaults. */
  public static EffectiveLimits defaults(Limits limits) {
    Map<LimitField, LimitSource> sources = new EnumMap<>(LimitField.class);
    for (LimitField field : LimitField.values()) {
      sources.put(field, LimitSource.DEFAULT);
    }
    return new EffectiveLimits(limits, sources, Optional.empty(), Optional.empty());
  }
}
