package io.simpletokenlimiter.limit;

import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Reserves the most a request can cost before it is forwarded and settles it to what was served
 * afterwards, so that no window is ever exceeded, whatever the concurrency.
 *
 * <p>Requests in flight hold leases that expire unless renewed: {@link #renewLeases()} is called
 * periodically (well within the lease TTL) so that long streams keep their slot, while the slots of
 * a replica that died come back by themselves. A lease is renewed for at most {@code
 * maxLeaseLifetime}: a request that was never settled (a bug) then expires and is charged its
 * reservation instead of holding a slot until a restart.
 */
public final class StrictTokenLimiter implements TokenLimiter {

  private static final Logger log = LoggerFactory.getLogger(StrictTokenLimiter.class);

  private record InFlight(Admission.Admitted admitted, long admittedAtMillis) {}

  private final LimitStore store;
  private final LimitsResolver limits;
  private final Clock clock;
  private final long leaseTtlMillis;
  private final long maxLeaseLifetimeMillis;
  private final Map<String, InFlight> inFlight = new ConcurrentHashMap<>();

  public StrictTokenLimiter(
      LimitStore store,
      LimitsResolver limits,
      Clock clock,
      Duration leaseTtl,
      Duration maxLeaseLifetime) {
    this.store = store;
    this.limits = limits;
    this.clock = clock;
    this.leaseTtlMillis = leaseTtl.toMillis();
    this.maxLeaseLifetimeMillis = maxLeaseLifetime.toMillis();
  }

  @Override
  public Mono<Admission> admit(String userId, ReservationRequest request) {
    Limits userLimits = limits.limitsFor(userId);
    for (Window window : Window.values()) {
      if (userLimits.limits(window) && request.minimumCost() > userLimits.tokens(window)) {
        return Mono.just(
            new Admission.TooLarge(
                window.limitType(), userLimits.tokens(window), request.minimumCost()));
      }
    }
    return Mono.defer(
        () -> {
          AdmitCommand command =
              new AdmitCommand(
                  userId,
                  UUID.randomUUID().toString(),
                  request,
                  userLimits,
                  clock.millis(),
                  leaseTtlMillis);
          AtomicBoolean delivered = new AtomicBoolean();
          return store
              .admit(command)
              .doOnNext(
                  admission -> {
                    delivered.set(true);
                    if (admission instanceof Admission.Admitted admitted) {
                      inFlight.put(admitted.leaseId(), new InFlight(admitted, clock.millis()));
                    }
                  })
              // The store may have recorded the lease although its answer never reached us
              // (client gone, timeout after the script ran): release it, or it would hold a
              // slot and its reservation until it expires.
              .doOnCancel(() -> releaseUndelivered(command, delivered))
              .doOnError(error -> releaseUndelivered(command, delivered));
        });
  }

  private void releaseUndelivered(AdmitCommand command, AtomicBoolean delivered) {
    if (!delivered.get()) {
      store
          .settle(command.userId(), command.leaseId(), 0, clock.millis())
          .onErrorResume(e -> Mono.empty())
          .subscribe();
    }
  }

  /**
   * Settles in the store even when the caller stops waiting: a cancelled settle would leave the
   * lease to expire and charge the whole reservation.
   */
  @Override
  public Mono<Void> settle(Admission.Admitted admitted, long chargedTokens) {
    return Mono.defer(
        () -> {
          inFlight.remove(admitted.leaseId());
          Mono<Void> settling =
              admitted
                  .holder()
                  .settle(admitted.userId(), admitted.leaseId(), chargedTokens, clock.millis())
                  .onErrorResume(
                      e -> {
                        // The answer is already served; the lease expires and is charged in full.
                        log.warn(
                            "Could not settle lease {} of {} ({} tokens): {}",
                            admitted.leaseId(),
                            admitted.userId(),
                            chargedTokens,
                            e.toString());
                        return Mono.empty();
                      })
                  .then();
          return Mono.fromFuture(settling.toFuture(), true);
        });
  }

  /** Renews the lease of every request in flight on this replica; drops leases that are gone. */
  public Mono<Void> renewLeases() {
    long now = clock.millis();
    return Flux.fromIterable(inFlight.values())
        .filter(lease -> keepRenewing(lease, now))
        .flatMap(
            lease ->
                lease
                    .admitted()
                    .holder()
                    .renew(
                        lease.admitted().userId(), lease.admitted().leaseId(), now, leaseTtlMillis)
                    .filter(renewed -> !renewed)
                    .doOnNext(gone -> inFlight.remove(lease.admitted().leaseId()))
                    // A store that is down now may answer the next round; the lease has slack.
                    .onErrorResume(e -> Mono.empty()),
            16)
        .then();
  }

  private boolean keepRenewing(InFlight lease, long now) {
    if (now - lease.admittedAtMillis() < maxLeaseLifetimeMillis) {
      return true;
    }
    inFlight.remove(lease.admitted().leaseId());
    log.error(
        "Lease {} of {} was not settled within {} ms; letting it expire (charged its reservation)",
        lease.admitted().leaseId(),
        lease.admitted().userId(),
        maxLeaseLifetimeMillis);
    return false;
  }

  /** Requests admitted by this replica and not yet settled. */
  public int inFlightCount() {
    return inFlight.size();
  }

  /** The usage a client sees: counted tokens per window, in-flight reservations included. */
  public Mono<UsageSnapshot> usage(String userId) {
    return store.usage(userId, clock.millis());
  }

  public Limits limitsFor(String userId) {
    return limits.limitsFor(userId);
  }
}
