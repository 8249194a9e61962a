package io.simpletokenlimiter.limit;

import java.util.Optional;

/** The limits configuration gives, before any change at run time: defaults, tiers, users. */
public interface ConfiguredLimits {

  Limits defaults();

  /** A tier's limits over the defaults. */
  Optional<LimitOverride> tier(String name);

  /** A user's own entry, with its tier if it names one. */
  Optional<LimitOverride> user(String userId);

  /** The defaults for everyone, no tier, no user of their own. */
  static ConfiguredLimits of(Limits defaults) {
    return new ConfiguredLimits() {
      @Override
      public Limits defaults() {
        return defaults;
      }

      @Override
      public Optional<LimitOverride> tier(String name) {
        return Optional.empty();
      }

      @Override
      public Optional<LimitOverride> user(String userId) {
        return Optional.empty();
      }
    };
  }
}
