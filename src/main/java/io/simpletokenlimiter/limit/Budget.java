package io.simpletokenlimiter.limit;

import java.util.Optional;

/**
 * Everything that limits one user's requests: their own limits, their team's if they are in one,
 * and what each kind of token costs in the units both count.
 */
public record Budget(Limits limits, Optional<Team> team, TokenWeights weights) {

  /** A user in no team, counting plain tokens. */
  public static Budget of(Limits limits) {
    return new Budget(limits, Optional.empty(), TokenWeights.ONE);
  }

  /**
   * The first limit, the user's before the team's, that {@code minimumUnits} exceeds on its own: a
   * request that can never fit.
   */
  public Optional<Admission.TooLarge> tooLarge(long minimumUnits) {
    Optional<Admission.TooLarge> own = tooLarge(limits, minimumUnits, LimitScope.USER);
    if (own.isPresent() || team.isEmpty()) {
      return own;
    }
    return tooLarge(team.get().limits(), minimumUnits, LimitScope.TEAM);
  }

  private static Optional<Admission.TooLarge> tooLarge(
      Limits limits, long minimumUnits, LimitScope scope) {
    for (Window window : Window.values()) {
      if (limits.limits(window) && minimumUnits > limits.tokens(window)) {
        return Optional.of(
            new Admission.TooLarge(window.limitType(), limits.tokens(window), minimumUnits, scope));
      }
    }
    if (limits.limitsMonth() && minimumUnits > limits.tokensPerMonth()) {
      return Optional.of(
          new Admission.TooLarge(LimitType.MONTH, limits.tokensPerMonth(), minimumUnits, scope));
    }
    return Optional.empty();
  }
}
