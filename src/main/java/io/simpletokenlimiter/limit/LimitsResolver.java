package io.simpletokenlimiter.limit;

/** Finds the limits that apply to a user: the defaults, a tier, or the user's own. */
@FunctionalInterface
public interface LimitsResolver {

  Limits limitsFor(String userId);

  /** The user's limits with their team and token weights; by default no team, plain tokens. */
  default Budget budgetFor(String userId) {
    return Budget.of(limitsFor(userId));
  }
}
