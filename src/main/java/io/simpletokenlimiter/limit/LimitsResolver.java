package io.simpletokenlimiter.limit;

/** Finds the limits that apply to a user: the defaults, a tier, or the user's own. */
@FunctionalInterface
public interface LimitsResolver {

  Limits limitsFor(String userId);
}
