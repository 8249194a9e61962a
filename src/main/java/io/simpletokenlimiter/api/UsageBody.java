package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.Window;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON of one user's usage, as {@code GET /api/v1/usage/{userId}} and the admin API's list of
 * heaviest users both give it: {@code minute}, {@code hour}, {@code day}, {@code month}, {@code
 * concurrent}, then {@code limits} and {@code remaining}. Counts are in units: tokens weighted by
 * the user's token weights, what the limits count.
 */
final class UsageBody {

  private UsageBody() {}

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
}
