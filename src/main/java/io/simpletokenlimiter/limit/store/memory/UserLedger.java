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
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * One user's buckets and leases, and the admission rules of {@link
 * io.simpletokenlimiter.limit.store.LimitStore} in plain Java. Not thread-safe: the store runs
 * every call under the user's lock. The Redis store's Lua scripts implement the same rules.
 */
final class UserLedger {

  private record Lease(long reservedTokens, long expiresAtMillis) {}

  private final Map<Window, BucketRing> rings = new EnumMap<>(Window.class);
  private final Map<String, Lease> leases = new HashMap<>();
  private long latestMillis = Long.MIN_VALUE;

  UserLedger() {
    for (Window window : Window.values()) {
      rings.put(window, new BucketRing(window));
    }
  }

  Admission admit(AdmitCommand command, LimitStore holder) {
    long now = advanceTo(command.nowMillis());
    expireLeases(now);
    ReservationRequest request = command.request();
    Limits limits = command.limits();
    long pending = pendingTokens();

    long granted = request.maxCompletionPerChoice();
    for (Window window : Window.values()) {
      if (limits.limits(window)) {
        long room = limits.tokens(window) - rings.get(window).counted(now) - pending;
        granted =
            Math.min(granted, Math.floorDiv(room - request.promptTokens(), request.choices()));
      }
    }
    if (granted < request.minCompletionPerChoice()) {
      return rejectForTokens(request.minimumCost(), limits, now, pending);
    }
    if (leases.size() >= limits.maxConcurrent()) {
      return new Admission.Rejected(
          LimitType.CONCURRENT, RetryHints.SHORT_RETRY_MILLIS, quota(limits, now));
    }
    long reserved = request.costWith(granted);
    leases.put(command.leaseId(), new Lease(reserved, now + command.leaseTtlMillis()));
    return new Admission.Admitted(
        command.userId(), command.leaseId(), reserved, granted, quota(limits, now), holder);
  }

  boolean settle(String leaseId, long chargedTokens, long nowMillis) {
    long now = advanceTo(nowMillis);
    Lease lease = leases.remove(leaseId);
    expireLeases(now);
    if (lease == null) {
      return false;
    }
    charge(chargedTokens, now);
    return true;
  }

  boolean renew(String leaseId, long nowMillis, long leaseTtlMillis) {
    long now = advanceTo(nowMillis);
    expireLeases(now);
    Lease lease = leases.get(leaseId);
    if (lease == null || lease.expiresAtMillis() <= now) {
      return false;
    }
    leases.put(leaseId, new Lease(lease.reservedTokens(), now + leaseTtlMillis));
    return true;
  }

  UsageSnapshot usage(long nowMillis) {
    long now = advanceTo(nowMillis);
    expireLeases(now);
    long pending = pendingTokens();
    return new UsageSnapshot(
        used(Window.MINUTE, now, pending),
        used(Window.HOUR, now, pending),
        used(Window.DAY, now, pending),
        leases.size());
  }

  /** Nothing in flight and nothing left in the longest window: the ledger can be dropped. */
  boolean isIdle(long nowMillis) {
    long now = advanceTo(nowMillis);
    return leases.isEmpty() && rings.get(Window.DAY).counted(now) == 0;
  }

  private Admission rejectForTokens(long minimumCost, Limits limits, long now, long pending) {
    Window blocking = null;
    long retryMillis = -1;
    for (Window window : Window.values()) {
      if (!limits.limits(window)) {
        continue;
      }
      long overflow = used(window, now, pending) + minimumCost - limits.tokens(window);
      if (overflow > 0) {
        long wait = rings.get(window).millisUntilFreed(now, overflow);
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
    for (Window window : Window.values()) {
      if (limits.limits(window)) {
        long windowRemaining = limits.tokens(window) - used(window, now, pending);
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
          leases.size());
    }
    return new Quota(
        tightest.limitType(),
        limits.tokens(tightest),
        Math.max(0, remaining),
        rings.get(tightest).millisUntilEmpty(now),
        limits.maxConcurrent(),
        leases.size());
  }

  private long used(Window window, long now, long pending) {
    return rings.get(window).counted(now) + pending;
  }

  private long pendingTokens() {
    long sum = 0;
    for (Lease lease : leases.values()) {
      sum += lease.reservedTokens();
    }
    return sum;
  }

  /** Charges the whole reservation of every expired lease: its replica died mid-request. */
  private void expireLeases(long now) {
    Iterator<Lease> it = leases.values().iterator();
    while (it.hasNext()) {
      Lease lease = it.next();
      if (lease.expiresAtMillis() <= now) {
        it.remove();
        charge(lease.reservedTokens(), now);
      }
    }
  }

  private void charge(long tokens, long now) {
    if (tokens > 0) {
      for (BucketRing ring : rings.values()) {
        ring.add(now, tokens);
      }
    }
  }

  /** Never lets time run backwards inside one ledger (a stepped clock would corrupt the ring). */
  private long advanceTo(long nowMillis) {
    latestMillis = Math.max(latestMillis, nowMillis);
    return latestMillis;
  }

  /** Empties every window; live leases keep their reservations. */
  void forgetCounted(long nowMillis) {
    long now = advanceTo(nowMillis);
    expireLeases(now);
    for (Window window : Window.values()) {
      rings.put(window, new BucketRing(window));
    }
  }
}
