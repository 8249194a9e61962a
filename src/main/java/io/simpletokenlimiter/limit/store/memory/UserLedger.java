package io.simpletokenlimiter.limit.store.memory;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.util.Arrays;

/**
 * One user's buckets and leases, and the admission rules of {@link LimitStore} in plain Java. Not
 * thread-safe: the store runs every call under the user's lock. The Redis store's Lua scripts
 * implement the same rules; {@code LimitStoreContract} holds both to them.
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

  /** The latest time any write has seen; calls never run earlier than this. */
  private long latestMillis = Long.MIN_VALUE;

  Admission admit(AdmitCommand command, LimitStore holder) {
    long now = at(command.nowMillis());
    expireLeases(now);
    ReservationRequest request = command.request();
    Limits limits = command.limits();
    long pending = pendingTokens();

    long granted = request.maxCompletionPerChoice();
    for (Window window : WINDOWS) {
      if (limits.limits(window)) {
        long room = limits.tokens(window) - counted(window, now) - pending;
        granted =
            Math.min(granted, Math.floorDiv(room - request.promptTokens(), request.choices()));
      }
    }
    if (granted < request.minCompletionPerChoice()) {
      return rejectForTokens(request.minimumCost(), limits, now, pending);
    }
    if (leaseCount() >= limits.maxConcurrent()) {
      return new Admission.Rejected(
          LimitType.CONCURRENT, RetryHints.SHORT_RETRY_MILLIS, quota(limits, now));
    }
    long reserved = request.costWith(granted);
    putLease(command.leaseId(), reserved, now + command.leaseTtlMillis());
    wroteAt(now);
    return new Admission.Admitted(
        command.userId(), command.leaseId(), reserved, granted, quota(limits, now), holder);
  }

  boolean settle(String leaseId, long chargedTokens, long nowMillis) {
    long now = at(nowMillis);
    int index = leaseIndex(leaseId);
    if (index >= 0) {
      removeLease(index);
    }
    expireLeases(now);
    if (index < 0) {
      return false;
    }
    wroteAt(now);
    charge(chargedTokens, now);
    return true;
  }

  boolean renew(String leaseId, long nowMillis, long leaseTtlMillis) {
    long now = at(nowMillis);
    expireLeases(now);
    int index = leaseIndex(leaseId);
    if (index < 0) {
      return false;
    }
    leaseTerms[2 * index + 1] = now + leaseTtlMillis;
    wroteAt(now);
    return true;
  }

  UsageSnapshot usage(long nowMillis) {
    long now = at(nowMillis);
    expireLeases(now);
    long pending = pendingTokens();
    return new UsageSnapshot(
        counted(Window.MINUTE, now) + pending,
        counted(Window.HOUR, now) + pending,
        counted(Window.DAY, now) + pending,
        leaseCount());
  }

  /** Nothing in flight and nothing left in the longest window: the ledger can be dropped. */
  boolean isIdle(long nowMillis) {
    long now = at(nowMillis);
    return leaseIds == null && counted(Window.DAY, now) == 0;
  }

  private Admission rejectForTokens(long minimumCost, Limits limits, long now, long pending) {
    Window blocking = null;
    long retryMillis = -1;
    for (Window window : WINDOWS) {
      if (!limits.limits(window)) {
        continue;
      }
      long overflow = counted(window, now) + pending + minimumCost - limits.tokens(window);
      if (overflow > 0) {
        long wait = millisUntilFreed(window, now, overflow);
        // Only in-flight reservations could make room: they settle soon, so retry shortly.
        long windowRetry = wait < 0 ? RetryHints.SHORT_RETRY_MILLIS : wait;
        if (windowRetry >= retryMillis) {
          blocking = window;
          retryMillis = windowRetry;
        }
      }
    }
    return new Admission.Rejected(blocking.limitType(), retryMillis, quota(limits, now));
  }

  private Quota quota(Limits limits, long now) {
    long pending = pendingTokens();
    Window tightest = null;
    long remaining = Long.MAX_VALUE;
    for (Window window : WINDOWS) {
      if (limits.limits(window)) {
        long windowRemaining = limits.tokens(window) - counted(window, now) - pending;
        if (windowRemaining < remaining) {
          tightest = window;
          remaining = windowRemaining;
        }
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
        tightest.limitType(),
        limits.tokens(tightest),
        Math.max(0, remaining),
        millisUntilEmpty(tightest, now),
        limits.maxConcurrent(),
        leaseCount());
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
  private void charge(long tokens, long now) {
    if (tokens <= 0) {
      return;
    }
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
  private void expireLeases(long now) {
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
      charge(expired, now);
    }
  }

  // --- time --------------------------------------------------------------------------------

  /**
   * Time never runs backwards for a user: a call uses the latest time any write of this user has
   * seen if its own clock is behind (a stepped clock, or a replica behind another). Only writes
   * move that time, exactly as the Redis scripts' {@code "t"} field: a read never changes state.
   */
  private long at(long nowMillis) {
    return Math.max(latestMillis, nowMillis);
  }

  private void wroteAt(long now) {
    latestMillis = now;
  }

  /** Empties every window; live leases keep their reservations. */
  void forgetCounted(long nowMillis) {
    long now = at(nowMillis);
    expireLeases(now);
    for (Window window : WINDOWS) {
      setBuckets(window, null);
    }
    wroteAt(now);
  }
}
