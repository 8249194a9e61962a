package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.Budget;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TokenWeights;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.Window;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The JSON of one user's usage, as {@code GET /api/v1/usage/{userId}} and the admin API's list of
 * heaviest users both give it: {@code minute}, {@code hour}, {@code day}, {@code month}, {@code
 * concurrent}, then {@code limits}, {@code remaining}, the user's {@code weights} and, for a team
 * member, the {@code team}'s usage. Counts are in units: tokens weighted by the user's token
 * weights, what the limits count.
 */
final class UsageBody {

  private UsageBody() {}

  /** The whole body: the user's own usage, weights, and their team's usage when they have one. */
  static Map<String, Object> of(
      UsageSnapshot usage, Budget budget, Optional<UsageSnapshot> teamUsage) {
    Map<String, Object> body = of(usage, budget.limits());
    body.put("weights", weights(budget.weights()));
    budget
        .team()
        .ifPresent(team -> teamUsage.ifPresent(shared -> body.put("team", team(team, shared))));
    return body;
  }

  static Map<String, Object> of(UsageSnapshot usage, Limits limits) {
    Map<String, Object> body = new LinkedHashMap<>();
    Map<String, Object> limitsBody = new LinkedHashMap<>();
    Map<String, Object> remaining = new LinkedHashMap<>();
    for (Window window : Window.values()) {
      String name = window.limitType().label();
      long limit = limits.tokens(window);
      body.put(name, usage.tokens(window));
      limitsBody.put(name, limit);
      remaining.put(
          name,
          limit == Limits.UNLIMITED ? Limits.UNLIMITED : Math.max(0, limit - usage.tokens(window)));
    }
    body.put("month", usage.month());
    limitsBody.put("month", limits.tokensPerMonth());
    remaining.put(
        "month",
        limits.limitsMonth()
            ? Math.max(0, limits.tokensPerMonth() - usage.month())
            : Limits.UNLIMITED);
    limitsBody.put("concurrent", limits.maxConcurrent());
    remaining.put("concurrent", Math.max(0, limits.maxConcurrent() - usage.inFlight()));
    body.put("concurrent", usage.inFlight());
    body.put("limits", limitsBody);
    body.put("remaining", remaining);
    return body;
  }

  private static Map<String, Object> team(Team team, UsageSnapshot usage) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", team.name());
    body.putAll(of(usage, team.limits()));
    return body;
  }

  /** What one token of each kind costs in the units counted above. */
  private static Map<String, Object> weights(TokenWeights weights) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("prompt", BigDecimal.valueOf(weights.promptMillis(), 3).stripTrailingZeros());
    body.put("completion", BigDecimal.valueOf(weights.completionMillis(), 3).stripTrailingZeros());
    body.put(
        "cached_prompt", BigDecimal.valueOf(weights.cachedPromptMillis(), 3).stripTrailingZeros());
    return body;
  }
}
