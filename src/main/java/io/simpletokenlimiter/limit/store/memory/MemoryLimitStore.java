package io.simpletokenlimiter.limit.store.memory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.CalendarMonth;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.Ledgers;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.StoreFullException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * Counters in this process: correct for one replica. Each call runs under the user's map entry lock
 * ({@link ConcurrentHashMap#compute}), so one user's calls are atomic while different users never
 * wait for each other. A ledger is dropped as soon as it is idle, and {@link #evictIdle(long)}
 * sweeps users that went quiet, so memory holds only users active within the last day.
 *
 * <p>At most {@code maxUsers} users are tracked at once. When that many are, an admission of a user
 * not tracked yet fails with {@link StoreFullException}: the store never forgets a user who still
 * has usage counted (that would under-count). Tracked users keep working, and new users are
 * admitted again as soon as idle ones are dropped.
 */
public final class MemoryLimitStore implements LimitStore {

  private static final Logger log = LoggerFactory.getLogger(MemoryLimitStore.class);

  /** The most charge ids {@link #chargeOnce} remembers, of all users together. */
  public static final int CHARGE_IDS_KEPT = 10_000;

  private final ConcurrentMap<String, UserLedger> ledgers = new ConcurrentHashMap<>();

  /** {@link #chargeOnce}'s ids ("ledger\nid"), the oldest dropped first; guarded by itself. */
  private final Set<String> chargeIds =
      Collections.newSetFromMap(
          new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
              return size() > CHARGE_IDS_KEPT;
            }
          });

  /**
   * Team ledgers, and one lock per team that every call of a team member holds around the user's
   * own lock (always in that order): admitting against both ledgers is one atomic step. Teams come
   * from configuration, so both maps stay as small as the list of teams.
   */
  private final ConcurrentMap<String, UserLedger> teamLedgers = new ConcurrentHashMap<>();

  private final ConcurrentMap<String, Object> teamLocks = new ConcurrentHashMap<>();
  private final CalendarMonth calendar;
  private final AtomicInteger tracked = new AtomicInteger();
  private final int maxUsers;
  private final Counter refused;
  private final AtomicBoolean saturated = new AtomicBoolean();

  /** Without a cap worth mentioning: for tests and tools. */
  public MemoryLimitStore() {
    this(Integer.MAX_VALUE, new SimpleMeterRegistry());
  }

  public MemoryLimitStore(int maxUsers, MeterRegistry registry) {
    this(maxUsers, registry, CalendarMonth.UTC);
  }

  public MemoryLimitStore(int maxUsers, MeterRegistry registry, CalendarMonth calendar) {
    this.calendar = calendar;
    if (maxUsers < 1) {
      throw new IllegalArgumentException("maxUsers must be at least 1, was " + maxUsers);
    }
    this.maxUsers = maxUsers;
    this.refused =
        Counter.builder("limiter.memory.users.refused")
            .description("Admissions refused because the in-memory store tracks its most users")
            .register(registry);
    Gauge.builder("limiter.memory.users", tracked, AtomicInteger::get)
        .description("Users tracked by the in-memory store (in flight or usage in the last day)")
        .register(registry);
    Gauge.builder("limiter.memory.users.max", () -> this.maxUsers)
        .description("The most users the in-memory store tracks (token.limit.memory.max-users)")
        .register(registry);
  }

  @Override
  public Mono<Admission> admit(AdmitCommand command) {
    return Mono.fromSupplier(
        () ->
            withTeam(
                command.userId(),
                command.nowMillis(),
                true,
                (user, team) -> MemoryAdmission.admit(command, user, team, calendar, this)));
  }

  @Override
  public Mono<Boolean> settle(String userId, String leaseId, long chargedTokens, long nowMillis) {
    return onLease(
        userId, nowMillis, ledger -> ledger.settle(leaseId, chargedTokens, nowMillis, calendar));
  }

  @Override
  public Mono<Boolean> renew(String userId, String leaseId, long nowMillis, long leaseTtlMillis) {
    return onLease(
        userId, nowMillis, ledger -> ledger.renew(leaseId, nowMillis, leaseTtlMillis, calendar));
  }

  @Override
  public Mono<Boolean> chargeOnce(String userId, String chargeId, long units, long nowMillis) {
    return Mono.fromSupplier(
        () -> {
          String id = userId + '\n' + chargeId;
          synchronized (chargeIds) {
            if (!chargeIds.add(id)) {
              return false;
            }
          }
          try {
            withTeam(
                userId,
                nowMillis,
                true,
                (user, team) -> {
                  team.ifPresent(ledger -> ledger.chargeAt(units, nowMillis, calendar));
                  user.chargeAt(units, nowMillis, calendar);
                  return null;
                });
          } catch (RuntimeException e) {
            synchronized (chargeIds) {
              chargeIds.remove(id);
            }
            throw e;
          }
          return true;
        });
  }

  /** A lease lives in the user's ledger and, for a team member, in the team's: both change. */
  private Mono<Boolean> onLease(String userId, long nowMillis, Predicate<UserLedger> change) {
    return Mono.fromSupplier(
        () ->
            Boolean.TRUE.equals(
                withTeam(
                    userId,
                    nowMillis,
                    false,
                    (user, team) -> {
                      team.ifPresent(change::test);
                      return change.test(user);
                    })));
  }

  @Override
  public Mono<UsageSnapshot> usage(String userId, long nowMillis) {
    return Mono.fromSupplier(
        () -> {
          UsageSnapshot usage =
              withLedger(
                  Ledgers.user(userId),
                  nowMillis,
                  false,
                  ledger -> ledger.usage(nowMillis, calendar));
          return usage == null ? UsageSnapshot.EMPTY : usage;
        });
  }

  @Override
  public Mono<UsageSnapshot> teamUsage(String team, long nowMillis) {
    return Mono.fromSupplier(
        () -> {
          synchronized (teamLock(team)) {
            UserLedger ledger = teamLedgers.get(team);
            if (ledger == null) {
              return UsageSnapshot.EMPTY;
            }
            UsageSnapshot usage = ledger.usage(nowMillis, calendar);
            dropIfIdle(team, ledger, nowMillis);
            return usage;
          }
        });
  }

  @Override
  public Mono<Void> forget(String userId, long nowMillis) {
    return Mono.fromRunnable(
        () -> {
          withLedger(
              Ledgers.user(userId),
              nowMillis,
              false,
              ledger -> {
                ledger.forgetCounted(nowMillis, calendar);
                return null;
              });
        });
  }

  /** A user's ledger here is theirs whatever their team: it counts on after a move as before. */
  @Override
  public Mono<Void> carryOver(String fromLedger, String toLedger, long nowMillis) {
    return Mono.empty();
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
            UsageSnapshot usage =
                withLedger(userId, nowMillis, false, ledger -> ledger.usage(nowMillis, calendar));
            if (usage != null && usage.tokens(window) > 0) {
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
      ledgers.computeIfPresent(
          userId,
          (id, ledger) -> {
            if (ledger.isIdle(nowMillis, calendar)) {
              tracked.decrementAndGet();
              return null;
            }
            return ledger;
          });
    }
    for (String team : teamLedgers.keySet()) {
      synchronized (teamLock(team)) {
        UserLedger ledger = teamLedgers.get(team);
        if (ledger != null) {
          dropIfIdle(team, ledger, nowMillis);
        }
      }
    }
    if (tracked.get() < maxUsers && saturated.compareAndSet(true, false)) {
      log.info("in-memory limit store tracks {} users: admitting new users again", tracked.get());
    }
  }

  /** Users with a ledger in memory: what the sweep bounds. */
  public int trackedUsers() {
    return tracked.get();
  }

  public int maxUsers() {
    return maxUsers;
  }

  /**
   * Runs {@code operation} on the user's ledger under the user's lock; null when the user has none
   * and {@code create} is false (nothing to settle, renew or count). Creating one takes a place
   * under the cap, or fails with {@link StoreFullException}.
   */
  private <T> T withLedger(
      String userId, long nowMillis, boolean create, Function<UserLedger, T> operation) {
    Object[] result = new Object[1];
    ledgers.compute(
        userId,
        (id, existing) -> {
          if (existing == null && !create) {
            return null;
          }
          UserLedger ledger = existing == null ? newLedger() : existing;
          try {
            result[0] = operation.apply(ledger);
          } catch (RuntimeException e) {
            if (existing == null) {
              tracked.decrementAndGet();
            }
            throw e;
          }
          if (ledger.isIdle(nowMillis, calendar)) {
            tracked.decrementAndGet();
            return null;
          }
          return ledger;
        });
    @SuppressWarnings("unchecked")
    T value = (T) result[0];
    return value;
  }

  /**
   * Runs {@code operation} on the user's ledger of {@code ledgerName} and, for a team member, the
   * team's ledger, under the team's lock and then the user's. The team ledger is created only with
   * the user's ({@code create}); null as {@link #withLedger}.
   */
  private <T> T withTeam(
      String ledgerName,
      long nowMillis,
      boolean create,
      BiFunction<UserLedger, Optional<UserLedger>, T> operation) {
    String userId = Ledgers.user(ledgerName);
    Optional<String> team = Ledgers.team(ledgerName);
    if (team.isEmpty()) {
      return withLedger(
          userId, nowMillis, create, ledger -> operation.apply(ledger, Optional.empty()));
    }
    String name = team.get();
    synchronized (teamLock(name)) {
      UserLedger teamLedger =
          create ? teamLedgers.computeIfAbsent(name, n -> new UserLedger()) : teamLedgers.get(name);
      try {
        return withLedger(
            userId,
            nowMillis,
            create,
            ledger -> operation.apply(ledger, Optional.ofNullable(teamLedger)));
      } finally {
        if (teamLedger != null) {
          dropIfIdle(name, teamLedger, nowMillis);
        }
      }
    }
  }

  private Object teamLock(String team) {
    return teamLocks.computeIfAbsent(team, name -> new Object());
  }

  /** Called under the team's lock. */
  private void dropIfIdle(String team, UserLedger ledger, long nowMillis) {
    if (ledger.isIdle(nowMillis, calendar)) {
      teamLedgers.remove(team, ledger);
    }
  }

  private UserLedger newLedger() {
    int count;
    do {
      count = tracked.get();
      if (count >= maxUsers) {
        refused.increment();
        if (saturated.compareAndSet(false, true)) {
          log.warn(
              "in-memory limit store tracks {} users, its most (token.limit.memory.max-users):"
                  + " new users get 503 until idle users are swept",
              count);
        }
        throw new StoreFullException(
            "Too many users are tracked by this limiter ("
                + maxUsers
                + ", token.limit.memory.max-users); new users are refused until idle users"
                + " expire. Retry later.");
      }
    } while (!tracked.compareAndSet(count, count + 1));
    return new UserLedger();
  }
}
