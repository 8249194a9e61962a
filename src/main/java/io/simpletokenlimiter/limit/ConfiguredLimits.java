package io.simpletokenlimiter.limit;

import java.util.Optional;
import java.util.function.Supplier;

/** The limits configuration gives, before any change at run time: defaults, tiers, users. */
public interface ConfiguredLimits {

  Limits defaults();

  /** A tier's limits over the defaults. */
  Optional<LimitOverride> tier(String name);

  /** A user's own entry, with its tier and team if it names them. */
  Optional<LimitOverride> user(String userId);

  /** A team and its limits. */
  Optional<Team> team(String name);

  /** What each kind of token costs, for users whose tier sets no weights of its own. */
  TokenWeights weights();

  /** A tier's own token weights. */
  Optional<TokenWeights> tierWeights(String tier);

  /**
   * A tier's share of the model's turns when its capacity is full ({@code share} of a tier in the
   * overrides file), if the configuration sets one.
   */
  default Optional<Integer> tierShare(String tier) {
    return Optional.empty();
  }

  /** The defaults for everyone, no tier, no user of their own. */
  static ConfiguredLimits of(Limits defaults) {
    return of(defaults, TokenWeights.ONE);
  }

  /** The defaults and deployment-wide weights for everyone; no tiers, users or teams. */
  static ConfiguredLimits of(Limits defaults, TokenWeights weights) {
    return of(() -> defaults, weights);
  }

  /** As {@link #of(Limits, TokenWeights)}, with defaults that may change (as on a reload). */
  static ConfiguredLimits of(Supplier<Limits> defaults, TokenWeights weights) {
    return new ConfiguredLimits() {
      @Override
      public Limits defaults() {
        return defaults.get();
      }

      @Override
      public Optional<Team> team(String name) {
        return Optional.empty();
      }

      @Override
      public TokenWeights weights() {
        return weights;
      }

      @Override
      public Optional<TokenWeights> tierWeights(String tier) {
        return Optional.empty();
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
