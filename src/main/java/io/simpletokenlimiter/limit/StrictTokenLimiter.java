package io.simpletokenlimiter.limit;

import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.Ledgers;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Reserves the most a request can cost before it is forwarded and settles it to what was served
 * afterwards, so that no window is ever exceeded, whatever the concurrency.
 *
 * <p>Requests in flight hold leases that expire unless renewed: {@link #renewLeases()} renews them
 * while their scope (the HTTP exchange) is open, so that long streams keep their slot while the
 * slots of a replica that died come back by themselves. A lease is renewed for at most {@code
 * maxLeaseLifetime}: a request that was never settled (a bug) then expires and is charged its
 * reservation instead of holding a slot until a restart.
 */
public final class StrictTokenLimiter implements TokenLimiter {

  private static final Logger log = LoggerFactory.getLogger(StrictTokenLimiter.class);

  private final LimitStore store;
  private final LimitsResolver limits;
  private final Clock clock;
  private final long leaseTtlMillis;
  private final long maxLeaseLifetimeMillis;
  private final LeaseEvents events;
  private final Map<String, Lease> leases = new ConcurrentHashMap<>();
  private final LeaseIds leaseIds = new LeaseIds();
  private final Lease.LeaseContext leaseContext;

  public StrictTokenLimiter(
      LimitStore store,
      LimitsResolver limits,
      Clock clock,
      Duration leaseTtl,
      Duration maxLeaseLifetime,
      LeaseEvents events) {
    this.store = store;
    this.limits = limits;
    this.clock = clock;
    this.leaseTtlMillis = leaseTtl.toMillis();
    this.maxLeaseLifetimeMillis = maxLeaseLifetime.toMillis();
    this.events = events;
    this.leaseContext = new Lease.LeaseContext(clock, events, lease -> leases.remove(lease.id()));
  }

  @Override
  public Mono<Lease> admit(String userId, ReservationRequest request, LeaseScope scope) {
    Budget budget = limits.budgetFor(userId);
    Optional<Admission.TooLarge> tooLarge =
        budget.tooLarge(budget.weights().cost(request, request.minCompletionPerChoice()));
    if (tooLarge.isPresent()) {
      return Mono.error(new RequestTooLargeException(tooLarge.get()));
    }
    return Mono.create(
        sink -> {
          AdmitCommand command =
              new AdmitCommand(
                  Ledgers.of(userId, budget.team().map(Team::name)),
                  leaseIds.next(),
                  request,
                  budget.limits(),
                  clock.millis(),
                  leaseTtlMillis,
                  budget.weights(),
                  budget.team());
          // The store's answer is awaited even when the caller leaves: a lease it recorded must
          // be ended here, not left to hold a slot until it expires.
          AtomicBoolean cancelled = new AtomicBoolean();
          AtomicReference<Lease> delivered = new AtomicReference<>();
          sink.onCancel(
              () -> {
                cancelled.set(true);
                Lease lease = delivered.get();
                if (lease != null) {
                  lease.abandon();
                }
              });
          store
              .admit(command)
              .subscribe(
                  admission ->
                      scope.resume(
                          () ->
                              deliver(
                                  admission,
                                  budget.weights(),
                                  request,
                                  scope,
                                  sink,
                                  cancelled,
                                  delivered)),
                  error -> scope.resume(() -> sink.error(error)));
        });
  }

  private void deliver(
      Admission admission,
      TokenWeights weights,
      ReservationRequest request,
      LeaseScope scope,
      MonoSink<Lease> sink,
      AtomicBoolean cancelled,
      AtomicReference<Lease> delivered) {
    if (admission instanceof Admission.Rejected rejected) {
      sink.error(new RateLimitedException(rejected));
    } else if (admission instanceof Admission.TooLarge tooLarge) {
      sink.error(new RequestTooLargeException(tooLarge));
    } else {
      Admission.Admitted admitted = (Admission.Admitted) admission;
      Lease lease =
          new Lease(
              admitted,
              weights,
              request.usageWith(admitted.completionTokensPerChoice()),
              scope,
              clock.millis(),
              leaseContext);
      leases.put(lease.id(), lease);
      delivered.set(lease);
      scope.onClose(lease::abandon);
      if (cancelled.get()) {
        lease.abandon();
      } else {
        sink.success(lease);
      }
    }
  }

  @Override
  public Mono<Void> renewLeases() {
    long now = clock.millis();
    return Flux.fromIterable(leases.values())
        .filter(lease -> keepRenewing(lease, now))
        .flatMap(
            lease ->
                lease
                    .renew(now, leaseTtlMillis)
                    .filter(renewed -> !renewed)
                    .doOnNext(gone -> leases.remove(lease.id()))
                    // A store that is down now may answer the next round; the lease has slack.
                    .onErrorResume(e -> Mono.empty()),
            16)
        .then();
  }

  private boolean keepRenewing(Lease lease, long now) {
    if (lease.isSettled()) {
      leases.remove(lease.id());
      return false;
    }
    if (!lease.scopeOpen()) {
      log.error(
          "Lease {} of {} outlived its request without a settle; releasing it",
          lease.id(),
          lease.userId());
      events.releasedBySafetyNet(lease);
      lease.abandon();
      return false;
    }
    if (now - lease.admittedAtMillis() < maxLeaseLifetimeMillis) {
      return true;
    }
    leases.remove(lease.id());
    log.error(
        "Lease {} of {} was not settled within {} ms; letting it expire (charged its reservation)",
        lease.id(),
        lease.userId(),
        maxLeaseLifetimeMillis);
    return false;
  }

  @Override
  public int inFlight() {
    return leases.size();
  }

  @Override
  public Mono<UsageSnapshot> usage(String userId) {
    return store.usage(ledgerOf(userId), clock.millis());
  }

  @Override
  public Mono<UsageSnapshot> teamUsage(String team) {
    return store.teamUsage(team, clock.millis());
  }

  @Override
  public Mono<Void> forget(String userId) {
    return store.forget(ledgerOf(userId), clock.millis());
  }

  @Override
  public Mono<Void> carryOver(TeamMove move) {
    return store.carryOver(
        Ledgers.of(move.userId(), move.from()),
        Ledgers.of(move.userId(), move.to()),
        clock.millis());
  }

  @Override
  public Budget budgetFor(String userId) {
    return limits.budgetFor(userId);
  }

  private String ledgerOf(String userId) {
    return Ledgers.of(userId, limits.budgetFor(userId).team().map(Team::name));
  }

  @Override
  public Mono<List<UserUsage>> top(Window window, int count) {
    return store.top(window, count, clock.millis());
  }

  @Override
  public Limits limitsFor(String userId) {
    return limits.limitsFor(userId);
  }
}
