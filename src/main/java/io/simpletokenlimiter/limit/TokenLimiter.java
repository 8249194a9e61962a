package io.simpletokenlimiter.limit;

import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import reactor.core.publisher.Mono;

/**
 * The limiter as the request path and its upkeep see it: reserve before forwarding (a {@link Lease}
 * to settle afterwards), read usage, and keep the leases of requests in flight alive.
 */
public interface TokenLimiter {

  /** The limiter that reserves before forwarding, so that no window is ever exceeded. */
  static TokenLimiter strict(
      LimitStore store,
      LimitsResolver limits,
      Clock clock,
      Duration leaseTtl,
      Duration maxLeaseLifetime,
      LeaseEvents events) {
    return new StrictTokenLimiter(store, limits, clock, leaseTtl, maxLeaseLifetime, events);
  }

  /**
   * Reserves the most {@code request} can cost. Fails with {@link RateLimitedException} when it
   * does not fit now and {@link RequestTooLargeException} when it never can; nothing is reserved
   * then. The lease is bound to {@code scope}: when the scope closes unsettled, the lease is
   * abandoned.
   */
  Mono<Lease> admit(String userId, ReservationRequest request, LeaseScope scope);

  /** The usage a client sees: counted units per window, in-flight reservations included. */
  Mono<UsageSnapshot> usage(String userId);

  /** The team's counted units per window and month, in-flight reservations included. */
  Mono<UsageSnapshot> teamUsage(String team);

  /**
   * Makes the user's own counts follow them into the ledger of their new team, so that a move
   * cannot escape usage already counted.
   */
  Mono<Void> carryOver(TeamMove move);

  /** The user's limits, team and token weights. */
  Budget budgetFor(String userId);

  /** Forgets the tokens counted against the user; requests in flight keep their reservations. */
  Mono<Void> forget(String userId);

  /** At most {@code count} users with the most tokens in {@code window}, heaviest first. */
  Mono<List<UserUsage>> top(Window window, int count);

  Limits limitsFor(String userId);

  /** Requests admitted by this replica and not yet settled. */
  int inFlight();

  /**
   * Renews the lease of every request in flight on this replica; releases leases whose scope has
   * closed without a settle. Called periodically, well within the lease TTL.
   */
  Mono<Void> renewLeases();
}
