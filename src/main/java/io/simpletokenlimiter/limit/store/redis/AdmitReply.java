package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.LimitScope;
import java.util.List;

/**
 * The reply of {@code admit.lua}, by name. The script answers a flat array (Lua has no records):
 * {@code {admitted, first, second, tightest, limit, remaining, reset, inFlight, scope,
 * quotaScope}}, where {@code first, second} are the granted completion per choice and the reserved
 * tokens when admitted, or the blocking window and the retry hint when rejected. Windows are
 * numbered from 1 in {@link io.simpletokenlimiter.limit.Window} order; 0 is the in-flight limit
 * (blocking) or "no limited window" (tightest), and one past the last window is the calendar month;
 * scope is 1 when the team's limit blocked.
 */
record AdmitReply(
    boolean admitted,
    long grantedPerChoice,
    long reservedTokens,
    int blockingWindow,
    long retryAfterMillis,
    int tightestWindow,
    long limitTokens,
    long remainingTokens,
    long resetMillis,
    int inFlight,
    LimitScope scope,
    LimitScope quotaScope) {

  private static final int LENGTH = 10;

  static AdmitReply from(List<?> reply) {
    if (reply.size() != LENGTH) {
      throw new IllegalStateException("admit.lua answered " + reply.size() + " values: " + reply);
    }
    boolean admitted = number(reply, 0) == 1;
    long first = number(reply, 1);
    long second = number(reply, 2);
    return new AdmitReply(
        admitted,
        admitted ? first : 0,
        admitted ? second : 0,
        admitted ? 0 : Math.toIntExact(first),
        admitted ? 0 : second,
        Math.toIntExact(number(reply, 3)),
        number(reply, 4),
        number(reply, 5),
        number(reply, 6),
        Math.toIntExact(number(reply, 7)),
        number(reply, 8) == 1 ? LimitScope.TEAM : LimitScope.USER,
        number(reply, 9) == 1 ? LimitScope.TEAM : LimitScope.USER);
  }

  static long number(List<?> reply, int index) {
    return ((Number) reply.get(index)).longValue();
  }
}
