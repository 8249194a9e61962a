package io.simpletokenlimiter.limit.wait;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.LimitsResolver;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.StrictTokenLimiter;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Admission with waiting: a request blocked by its user's limits may wait for room up to its max
 * wait ({@link UserQueues}), and, when the model's capacity is set, for a slot of the model, shared
 * in turns across users ({@link CapacityGate}). Without a wait and without a capacity, an admission
 * is exactly the limiter's own.
 */
public final class WaitingAdmissions {

  private final TokenLimiter limiter;
  private final UserQueues userQueues;
  private final Optional<CapacityGate> capacity;
  private final WaitBounds bounds;
  private final Scheduler timer;

  private WaitingAdmissions(
      TokenLimiter limiter,
      UserQueues userQueues,
      Optional<CapacityGate> capacity,
      WaitBounds bounds,
      Scheduler timer) {
    this.limiter = limiter;
    this.userQueues = userQueues;
    this.capacity = capacity;
    this.bounds = bounds;
    this.timer = timer;
  }

  /**
   * Waiting over {@code limiter}, whose local settles {@code settles} must report.
   *
   * @param settings the bounds, and the model's capacity if any
   * @param shares a user's share of the model's turns when it is full
   */
  public static WaitingAdmissions over(
      TokenLimiter limiter,
      LocalSettles settles,
      Settings settings,
      ToIntFunction<String> shares,
      WaitEvents events,
      Scheduler timer) {
    WaitBounds bounds = new WaitBounds(settings.maxWaitingPerUser(), settings.maxWaiting());
    UserQueues userQueues = new UserQueues(limiter, bounds, events, timer);
    Optional<CapacityGate> capacity =
        settings
            .capacity()
            .map(
                slots ->
                    new CapacityGate(
                        capacityLimiter(slots, settles), shares, bounds, events, timer));
    settles.listen(
        lease -> {
          if (lease.userId().equals(CapacityGate.LEDGER)) {
            capacity.ifPresent(gate -> gate.slotFreed(lease));
          } else {
            userQueues.settled(lease);
            capacity.ifPresent(gate -> gate.ended(lease));
          }
        });
    return new WaitingAdmissions(limiter, userQueues, capacity, bounds, timer);
  }

  /**
   * The limiter of the model's slots: its own leases in the same store, renewed by {@link
   * #renewCapacityLeases}.
   */
  private static TokenLimiter capacityLimiter(CapacitySettings slots, LocalSettles settles) {
    Limits limits = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, slots.size());
    LimitsResolver onlyTheLedger = userId -> limits;
    return new StrictTokenLimiter(
        slots.store(),
        onlyTheLedger,
        slots.clock(),
        slots.leaseTtl(),
        slots.maxLeaseLifetime(),
        settles);
  }

  /**
   * Admits the request, waiting up to {@code maxWait} for room in the user's limits and for a slot
   * of the model. Fails as {@link TokenLimiter#admit} does when it does not fit in time.
   */
  public Mono<Lease> admit(
      String userId, ReservationRequest request, LeaseScope scope, Duration maxWait) {
    if (maxWait.isZero() && capacity.isEmpty()) {
      return limiter.admit(userId, request, scope);
    }
    return Mono.defer(
        () -> {
          long deadline = timer.now(TimeUnit.MILLISECONDS) + maxWait.toMillis();
          Mono<Lease> admitted =
              maxWait.isZero()
                  ? limiter.admit(userId, request, scope)
                  : userQueues.admit(userId, request, scope, deadline);
          return capacity
              .map(gate -> admitted.flatMap(lease -> gate.enter(lease, scope, deadline)))
              .orElse(admitted);
        });
  }

  /** Requests waiting on this replica, for their user's room or for the model. */
  public int waiting() {
    return bounds.waiting();
  }

  /** Renews the leases of the model's slots held by this replica; with no capacity, nothing. */
  public Mono<Void> renewCapacityLeases() {
    return capacity.map(CapacityGate::renewSlots).orElse(Mono.empty());
  }

  /**
   * How many may wait, and the model's capacity.
   *
   * @param maxWaitingPerUser requests of one user waiting on this replica
   * @param maxWaiting requests waiting on this replica in all
   */
  public record Settings(
      int maxWaitingPerUser, int maxWaiting, Optional<CapacitySettings> capacity) {}

  /**
   * The model's slots: {@code size} of them, counted in {@code store} with leases like a user's.
   */
  public record CapacitySettings(
      int size, LimitStore store, Clock clock, Duration leaseTtl, Duration maxLeaseLifetime) {}
}
