package io.simpletokenlimiter.limit.store.memory;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * Counters in this process: correct for one replica. Each call runs under the user's map entry lock
 * ({@link ConcurrentHashMap#compute}), so one user's calls are atomic while different users never
 * wait for each other. A ledger is dropped as soon as it is idle, and {@link #evictIdle(long)}
 * sweeps users that went quiet, so memory holds only users active within the last day.
 */
public final class MemoryLimitStore implements LimitStore {

  private final ConcurrentMap<String, UserLedger> ledgers = new ConcurrentHashMap<>();

  @Override
  public Mono<Admission> admit(AdmitCommand command) {
    return Mono.fromSupplier(
        () ->
            withLedger(
                command.userId(), command.nowMillis(), ledger -> ledger.admit(command, this)));
  }

  @Override
  public Mono<Boolean> settle(String userId, String leaseId, long chargedTokens, long nowMillis) {
    return Mono.fromSupplier(
        () ->
            withLedger(
                userId, nowMillis, ledger -> ledger.settle(leaseId, chargedTokens, nowMillis)));
  }

  @Override
  public Mono<Boolean> renew(String userId, String leaseId, long nowMillis, long leaseTtlMillis) {
    return Mono.fromSupplier(
        () ->
            withLedger(
                userId, nowMillis, ledger -> ledger.renew(leaseId, nowMillis, leaseTtlMillis)));
  }

  @Override
  public Mono<UsageSnapshot> usage(String userId, long nowMillis) {
    return Mono.fromSupplier(
        () -> {
          UserLedger existing = ledgers.get(userId);
          return existing == null
              ? UsageSnapshot.EMPTY
              : withLedger(userId, nowMillis, ledger -> ledger.usage(nowMillis));
        });
  }

  @Override
  public Mono<Void> forget(String userId, long nowMillis) {
    return Mono.fromRunnable(
        () -> {
          if (ledgers.containsKey(userId)) {
            withLedger(
                userId,
                nowMillis,
                ledger -> {
                  ledger.forgetCounted(nowMillis);
                  return null;
                });
          }
        });
  }

  /**
   * Reads every ledger in memory: the map holds only users active within the last day, and each
   * read is a few array sums under that user's lock, so no index is needed here.
   */
  @Override
  public Mono<List<UserUsage>> top(Window window, int count, long nowMillis) {
    return Mono.fromSupplier(
        () -> {
          Comparator<UserUsage> lightestFirst =
              Comparator.comparingLong((UserUsage u) -> u.usage().tokens(window))
                  .thenComparing(UserUsage::userId, Comparator.reverseOrder());
          PriorityQueue<UserUsage> heaviest = new PriorityQueue<>(lightestFirst);
          for (String userId : ledgers.keySet()) {
            UsageSnapshot usage = withLedger(userId, nowMillis, ledger -> ledger.usage(nowMillis));
            if (usage.tokens(window) > 0) {
              heaviest.add(new UserUsage(userId, usage));
              if (heaviest.size() > count) {
                heaviest.poll();
              }
            }
          }
          List<UserUsage> result = new ArrayList<>(heaviest);
          result.sort(lightestFirst.reversed());
          return result;
        });
  }

  /** Drops every ledger with nothing in flight and nothing left in its day window. */
  public void evictIdle(long nowMillis) {
    for (String userId : ledgers.keySet()) {
      ledgers.computeIfPresent(userId, (id, ledger) -> ledger.isIdle(nowMillis) ? null : ledger);
    }
  }

  /** Users with a ledger in memory: what the sweep bounds. */
  public int trackedUsers() {
    return ledgers.size();
  }

  private <T> T withLedger(String userId, long nowMillis, Function<UserLedger, T> operation) {
    Object[] result = new Object[1];
    ledgers.compute(
        userId,
        (id, existing) -> {
          UserLedger ledger = existing == null ? new UserLedger() : existing;
          result[0] = operation.apply(ledger);
          return ledger.isIdle(nowMillis) ? null : ledger;
        });
    @SuppressWarnings("unchecked")
    T value = (T) result[0];
    return value;
  }
}
