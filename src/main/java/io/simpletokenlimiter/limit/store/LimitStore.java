package io.simpletokenlimiter.limit.store;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import java.util.List;
import reactor.core.publisher.Mono;

/**
 * Where the counters of every user live. Each call is one atomic step (one lock in memory, one
 * script in Redis); {@code LimitStoreContract} in the tests is the specification every
 * implementation must pass.
 *
 * <p>Per user a store keeps token buckets for each {@link io.simpletokenlimiter.limit.Window} and a
 * set of leases: one per request in flight, holding that request's reservation until it is settled
 * or its lease expires. Live leases count in every window and against the in-flight limit. A lease
 * that expires unsettled (its replica died) is charged its whole reservation into the buckets of
 * the moment it is found expired: never under-count.
 *
 * <p>A team member's calls name the ledger {@link Ledgers#member}: the store then keeps the same
 * lease and charge in the team's ledger too, and admits only what fits both. Every count is in
 * units (tokens weighted by {@link io.simpletokenlimiter.limit.TokenWeights}); a calendar month, in
 * the store's configured zone, is counted beside the rolling windows.
 */
public interface LimitStore {

  /**
   * Admits the request if its least cost fits every window and a slot is free, recording a lease
   * with the largest completion budget that fits; otherwise changes nothing. An admission that
   * fails holds nothing: a store that gives up on an answer releases what it may have recorded.
   */
  Mono<Admission> admit(AdmitCommand command);

  /**
   * Ends a lease and charges {@code chargedTokens} into the buckets of {@code nowMillis}. A lease
   * that is no longer there (expired and already charged) is left alone: returns false.
   */
  Mono<Boolean> settle(String userId, String leaseId, long chargedTokens, long nowMillis);

  /**
   * Charges {@code units} counted outside the store (what an outage's fallback admitted) into the
   * buckets of {@code nowMillis}, in the user's ledger and, for a team member, the team's too; at
   * most once per {@code chargeId}: a try sent again after its answer was lost finds the id and
   * charges nothing (returns false). Redis remembers a ledger's charge ids for a day after its
   * latest; the memory store, never a write-back's target but in tests, its latest {@value
   * io.simpletokenlimiter.limit.store.memory.MemoryLimitStore#CHARGE_IDS_KEPT} of all users.
   */
  Mono<Boolean> chargeOnce(String userId, String chargeId, long units, long nowMillis);

  /** Pushes a live lease's expiry to {@code nowMillis + leaseTtlMillis}; false if it is gone. */
  Mono<Boolean> renew(String userId, String leaseId, long nowMillis, long leaseTtlMillis);

  /**
   * The user's counted units per window and month and live leases; zeros for an unknown user.
   * {@code userId} names the ledger as {@link AdmitCommand#userId} does.
   */
  Mono<UsageSnapshot> usage(String userId, long nowMillis);

  /** The team's counted units per window and month and its live leases; zeros if unknown. */
  Mono<UsageSnapshot> teamUsage(String team, long nowMillis);

  /**
   * Forgets the tokens counted against the user in every window (an operator forgiving a runaway
   * script). Live leases stay, with their reservations: requests in flight are settled as usual.
   * Leases found expired are charged first, as any call does, and forgotten with the rest.
   */
  Mono<Void> forget(String userId, long nowMillis);

  /**
   * The user of both ledgers moved from one team (or none) to another: their own counts (windows,
   * month, live reservations) must keep counting in the new ledger, so that moving cannot escape
   * them. The teams keep what they counted. A store whose user ledger does not depend on the team
   * has nothing to do.
   */
  Mono<Void> carryOver(String fromLedger, String toLedger, long nowMillis);

  /**
   * At most {@code count} users with the most tokens counted in {@code window} (live reservations
   * included), heaviest first, each with the usage {@link #usage} gives; users at zero are left
   * out. How a store finds them without reading every user is its own design (see {@code
   * docs/admin-api.md}).
   */
  Mono<List<UserUsage>> top(Window window, int count, long nowMillis);
}
