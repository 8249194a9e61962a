package io.simpletokenlimiter.limit.store.memory;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.CalendarMonth;
import io.simpletokenlimiter.limit.LimitScope;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.util.Arrays;

/**
 * One user's (or one team's) buckets, month and leases, and the counting rules of {@link
 * LimitStore} in plain Java; {@link MemoryAdmission} decides over a user's and their team's ledgers
 * together. Not thread-safe: the store runs every call under the user's lock (and the team's). The
 * Redis store's Lua scripts implement the same rules; {@code LimitStoreContract} holds both to
 * them.
 *
 * <p>Compact on purpose, as the memory store may track hundreds of thousands of users: only buckets
 * that hold tokens are kept, per window as one {@code long[]} of {@code (latest charge time,
 * tokens)} pairs in time order, and leases as two parallel arrays; every array is exactly as long
 * as its content and {@code null} when empty. A user with one request costs about 300 bytes of
 * heap; see docs/limits.md for the figures.
 */
final class UserLedger {

  private static final Window[] WINDOWS = Window.values();

  /** Per window, (latest charge millis, tokens) pairs of the buckets that hold tokens. */
  private long[] minute;

  private long[] hour;
  private long[] day;

  /** Lease ids, and per lease (reserved tokens, expires at millis); null when none. */
  private String[] leaseIds;

  private long[] leaseTerms;

  /** The calendar month charged last, by its first millisecond, and its units. */
  private long monthStartMillis = Long.MIN_VALUE;

  private long monthTokens;

  /**
   * Whether a monthly quota has applied to this ledger: only then does its month's usage keep the
   * ledger in memory past the day window (most deployments have none, and keep users for a day).
   */
  private boolean keepsMonth;

  /** The latest time any write has seen; calls never run earlier than this. */
  private long latestMillis = Long.MIN_VALUE;

  /** The room left in the tightest limited window or month, in units; MAX_VALUE if none. */
  long room(Limits limits, long now, CalendarMonth.Span month) {
    long pending = pendingTokens();
    long room = Long.MAX_VALUE;
    for (Window window : WINDOWS) {
      if (limits.limits(window)) {
        room = Math.min(room, limits.tokens(window) - counted(window, now) - pending);
      }
    }
    if (limits.limitsMonth()) {
      room = Math.min(room, limits.tokensPerMonth() - countedMonth(month) - pending);
    }
    return room;
  }

  /** Remembers that a monthly quota applies, so the month's usage outlives the day window. */
  void keepMonthIf(Limits limits) {
    keepsMonth |= limits.limitsMonth();
  }

  boolean slotFree(Limits limits) {
    return leaseCount() < limits.maxConcurrent();
  }

  void recordLease(String leaseId, long reserved, long expiresAt, long now) {
    putLease(leaseId, reserved, expiresAt);
    wroteAt(now);
  }

  boolean settle(String leaseId, long chargedTokens, long nowMillis, CalendarMonth calendar) {
    int index = leaseIndex(leaseId);
    if (index < 0) {
      long now = at(nowMillis);
      expireLeases(now, calendar.at(now));
      return false;
    }
    removeLease(index);
    chargeAt(chargedTokens, nowMillis, calendar);
    return true;
  }

  /**
   * Charges {@code tokens} into the buckets of now: a settled lease's, or a charge counted outside
   * the store. Leases found expired are charged first, as any call does.
   */
  void chargeAt(long tokens, long nowMillis, CalendarMonth calendar) {
    long now = at(nowMillis);
    CalendarMonth.Span month = calendar.at(now);
    expireLeases(now, month);
    wroteAt(now);
    charge(tokens, now, month);
  }

  boolean renew(String leaseId, long nowMillis, long leaseTtlMillis, CalendarMonth calendar) {
    long now = at(nowMillis);
    expireLeases(now, calendar.at(now));
    int index = leaseIndex(leaseId);
    if (index < 0) {
      return false;
    }
    leaseTerms[2 * index + 1] = now + leaseTtlMillis;
    wroteAt(now);
    return true;
  }

  UsageSnapshot usage(long nowMillis, CalendarMonth calendar) {
    long now = at(nowMillis);
    CalendarMonth.Span month = calendar.at(now);
    expireLeases(now, month);
    long pending = pendingTokens();
    return new UsageSnapshot(
        counted(Window.MINUTE, now) + pending,
        counted(Window.HOUR, now) + pending,
        counted(Window.DAY, now) + pending,
        countedMonth(month) + pending,
        leaseCount());
  }

  /**
   * Nothing in flight and nothing left in the day window or, under a monthly quota, the month: the
   * ledger can be dropped. A month's usage then keeps its ledger until the month ends, so that a
   * monthly quota cannot be escaped by going quiet for a day.
   */
  boolean isIdle(long nowMillis, CalendarMonth calendar) {
    long now = at(nowMillis);
    return leaseIds == null
        && counted(Window.DAY, now) == 0
        && (!keepsMonth || countedMonth(calendar.at(now)) == 0);
  }

  /**
   * Why {@code minimumUnits} does not fit: the blocking window or month that frees latest, and when
   * enough of it will have freed.
   */
  Admission.Rejected rejection(
      long minimumUnits, Limits limits, long now, CalendarMonth.Span month, LimitScope scope) {
    long pending = pendingTokens();
    LimitType blocking = null;
    long retryMillis = -1;
    for (Window window : WINDOWS) {
      if (!limits.limits(window)) {
        continue;
      }
      long overflow = counted(window, now) + pending + minimumUnits - limits.tokens(window);
      if (overflow > 0) {
        long wait = millisUntilFreed(window, now, overflow);
        // Only in-flight reservations could make room: they settle soon, so retry shortly.
        long windowRetry = wait < 0 ? RetryHints.SHORT_RETRY_MILLIS : wait;
        if (windowRetry >= retryMillis) {
          blocking = window.limitType();
          retryMillis = windowRetry;
        }
      }
    }
    if (limits.limitsMonth()) {
      long counted = countedMonth(month);
      long overflow = counted + pending + minimumUnits - limits.tokensPerMonth();
      if (overflow > 0) {
        long monthRetry =
            counted >= overflow
                ? Math.max(1, month.endMillis() - now)
                : RetryHints.SHORT_RETRY_MILLIS;
        if (monthRetry >= retryMillis) {
          blocking = LimitType.MONTH;
          retryMillis = monthRetry;
        }
      }
    }
    return new Admission.Rejected(blocking, retryMillis, quota(limits, now, month), scope);
  }

  Quota quota(Limits limits, long now, CalendarMonth.Span month) {
    long pending = pendingTokens();
    LimitType tightest = null;
    long limit = Limits.UNLIMITED;
    long remaining = Long.MAX_VALUE;
    long reset = 0;
    for (Window window : WINDOWS) {
      if (limits.limits(window)) {
        long windowRemaining = limits.tokens(window) - counted(window, now) - pending;
        if (windowRemaining < remaining) {
          tightest = window.limitType();
          limit = limits.tokens(window);
          remaining = windowRemaining;
          reset = millisUntilEmpty(window, now);
        }
      }
    }
    if (limits.limitsMonth()) {
      long monthRemaining = limits.tokensPerMonth() - countedMonth(month) - pending;
      if (monthRemaining < remaining) {
        tightest = LimitType.MONTH;
        limit = limits.tokensPerMonth();
        remaining = monthRemaining;
        reset = countedMonth(month) > 0 ? Math.max(0, month.endMillis() - now) : 0;
      }
    }
    if (tightest == null) {
      return new Quota(
          LimitType.MINUTE,
          Limits.UNLIMITED,
          Limits.UNLIMITED,
          0,
          limits.maxConcurrent(),
          leaseCount());
    }
    return new Quota(
        tightest, limit, Math.max(0, remaining), reset, limits.maxConcurrent(), leaseCount());
  }

  // --- the month ---------------------------------------------------------------------------

  /** The month's units; a month ahead of {@code month} (a clock ahead wrote it) counts too. */
  private long countedMonth(CalendarMonth.Span month) {
    return monthStartMillis >= month.startMillis() ? monthTokens : 0;
  }

  // --- buckets -----------------------------------------------------------------------------

  private long[] buckets(Window window) {
    return switch (window) {
      case MINUTE -> minute;
      case HOUR -> hour;
      case DAY -> day;
    };
  }

  private void setBuckets(Window window, long[] pairs) {
    long[] value = pairs == null || pairs.length == 0 ? null : pairs;
    switch (window) {
      case MINUTE -> minute = value;
      case HOUR -> hour = value;
      case DAY -> day = value;
    }
  }

  private long counted(Window window, long now) {
    long[] pairs = buckets(window);
    long sum = 0;
    if (pairs != null) {
      for (int i = 0; i < pairs.length; i += 2) {
        if (window.expiryOfChargeAt(pairs[i]) > now) {
          sum += pairs[i + 1];
        }
      }
    }
    return sum;
  }

  /**
   * Time until the buckets expiring first have freed at least {@code need} tokens, or -1 if all
   * counted buckets together hold less than that. Buckets are in time order, so in expiry order.
   */
  private long millisUntilFreed(Window window, long now, long need) {
    long[] pairs = buckets(window);
    long freed = 0;
    if (pairs != null) {
      for (int i = 0; i < pairs.length; i += 2) {
        long expiry = window.expiryOfChargeAt(pairs[i]);
        if (expiry > now) {
          freed += pairs[i + 1];
          if (freed >= need) {
            return expiry - now;
          }
        }
      }
    }
    return -1;
  }

  /** Time until every counted token of this window has expired; 0 when none is counted. */
  private long millisUntilEmpty(Window window, long now) {
    long[] pairs = buckets(window);
    if (pairs == null) {
      return 0;
    }
    return Math.max(0, window.expiryOfChargeAt(pairs[pairs.length - 2]) - now);
  }

  /**
   * Adds tokens to the bucket of {@code now} in every window, and drops the buckets no window
   * counts any more. Writes never run earlier than the latest one, so the newest bucket is last.
   */
  private void charge(long tokens, long now, CalendarMonth.Span month) {
    if (tokens <= 0) {
      return;
    }
    if (monthStartMillis < month.startMillis()) {
      monthStartMillis = month.startMillis();
      monthTokens = 0;
    }
    monthTokens += tokens;
    for (Window window : WINDOWS) {
      long[] pairs = buckets(window);
      int live = 0;
      if (pairs != null) {
        while (live < pairs.length && window.expiryOfChargeAt(pairs[live]) <= now) {
          live += 2;
        }
      }
      int kept = pairs == null ? 0 : pairs.length - live;
      boolean sameBucket =
          kept > 0 && window.bucketAt(pairs[pairs.length - 2]) == window.bucketAt(now);
      long[] next = live == 0 && sameBucket ? pairs : new long[sameBucket ? kept : kept + 2];
      if (next != pairs && kept > 0) {
        System.arraycopy(pairs, live, next, 0, kept);
      }
      next[next.length - 2] = now;
      next[next.length - 1] = (sameBucket ? next[next.length - 1] : 0) + tokens;
      setBuckets(window, next);
    }
  }

  // --- leases ------------------------------------------------------------------------------

  private int leaseCount() {
    return leaseIds == null ? 0 : leaseIds.length;
  }

  private int leaseIndex(String leaseId) {
    if (leaseIds != null) {
      for (int i = 0; i < leaseIds.length; i++) {
        if (leaseIds[i].equals(leaseId)) {
          return i;
        }
      }
    }
    return -1;
  }

  private void putLease(String leaseId, long reserved, long expiresAt) {
    int count = leaseCount();
    leaseIds = leaseIds == null ? new String[1] : Arrays.copyOf(leaseIds, count + 1);
    leaseTerms = leaseTerms == null ? new long[2] : Arrays.copyOf(leaseTerms, 2 * count + 2);
    leaseIds[count] = leaseId;
    leaseTerms[2 * count] = reserved;
    leaseTerms[2 * count + 1] = expiresAt;
  }

  private void removeLease(int index) {
    int count = leaseCount();
    if (count == 1) {
      leaseIds = null;
      leaseTerms = null;
      return;
    }
    String[] ids = new String[count - 1];
    long[] terms = new long[2 * (count - 1)];
    System.arraycopy(leaseIds, 0, ids, 0, index);
    System.arraycopy(leaseIds, index + 1, ids, index, count - 1 - index);
    System.arraycopy(leaseTerms, 0, terms, 0, 2 * index);
    System.arraycopy(leaseTerms, 2 * index + 2, terms, 2 * index, 2 * (count - 1 - index));
    leaseIds = ids;
    leaseTerms = terms;
  }

  private long pendingTokens() {
    long sum = 0;
    for (int i = 0; i < leaseCount(); i++) {
      sum += leaseTerms[2 * i];
    }
    return sum;
  }

  /** Charges the whole reservation of every expired lease: its replica died mid-request. */
  void expireLeases(long now, CalendarMonth.Span month) {
    long expired = 0;
    boolean any = false;
    for (int i = leaseCount() - 1; i >= 0; i--) {
      if (leaseTerms[2 * i + 1] <= now) {
        expired += leaseTerms[2 * i];
        removeLease(i);
        any = true;
      }
    }
    if (any) {
      wroteAt(now);
      charge(expired, now, month);
    }
  }

  // --- time --------------------------------------------------------------------------------

  /**
   * Time never runs backwards for a user: a call uses the latest time any write of this user has
   * seen if its own clock is behind (a stepped clock, or a replica behind another). Only writes
   * move that time, exactly as the Redis scripts' {@code "t"} field: a read never changes state.
   */
  long at(long nowMillis) {
    return Math.max(latestMillis, nowMillis);
  }

  private void wroteAt(long now) {
    latestMillis = now;
  }

  /** Empties every window; live leases keep their reservations. */
  void forgetCounted(long nowMillis, CalendarMonth calendar) {
    long now = at(nowMillis);
    expireLeases(now, calendar.at(now));
    for (Window window : WINDOWS) {
      setBuckets(window, null);
    }
    monthStartMillis = Long.MIN_VALUE;
    monthTokens = 0;
    wroteAt(now);
  }
}
