package io.simpletokenlimiter.limit;

import java.util.Map;

/** Default limits with per-user exceptions: an immutable snapshot of the configuration. */
public record UserLimits(Limits defaults, Map<String, Limits> perUser) implements LimitsResolver {

  public UserLimits {
    perUser = Map.copyOf(perUser);
  }

  public static UserLimits of(Limits defaults) {
    return new UserLimits(defaults, Map.of());
  }

  @Override
  public Limits limitsFor(String userId) {
    return perUser.getOrDefault(userId, defaults);
  }
}
