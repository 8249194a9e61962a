package io.simpletokenlimiter.limit;

import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Reserves the most a request can cost before it is forwarded and settles it to what was served
 * afterwards, so that no window is ever exceeded, whatever the concurrency.
 *
 * <p>Requests in flight hold leases that expire unless renewed: {@link #renewLeases()} is called
 * periodically (well within the lease TTL) so that long streams keep their slot, while the slots
 * of a replica that died come back by themselves.
 */
public final class StrictTokenLimiter implements TokenLimiter {

  private static final Logger log = LoggerFactory.getLogger(StrictTokenLimiter.class);

  private final LimitStore store;
  private final LimitsResolver limits;
  private final Clock clock;
  private final long leaseTtlMillis;
  private final Map<String, Admission.Admitted> inFlight = new ConcurrentHashMap<>();

  public StrictTokenLimiter(
      LimitStore store, LimitsResolver limits, Clock clock, Duration leaseTtl) {
    this.store = store;
    this.limits = limits;
    this.clock = clock;
    this.leaseTtlMillis = leaseTtl.toMillis();
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
    AdmitCommand command =
        new AdmitCommand(
            userId, UUID.randomUUID().toString(), request, userLimits, clock.millis(),
            leaseTtlMillis);
    return store
        .admit(command)
        .doOnNext(
            admission -> {
              if (admission instanceof Admission.Admitted admitted) {
                inFlight.put(admitted.leaseId(), admitted);
              }
            });
  }

  @Override
  public Mono<Void> settle(Admission.Admitted admitted, long chargedTokens) {
    return Mono.defer(
        () -> {
          inFlight.remove(admitted.leaseId());
          return store
              .settle(admitted.userId(), admitted.leaseId(), chargedTokens, clock.millis())
              .onErrorResume(
                  e -> {
                    // The answer is already served; the lease expires and is charged in full.
                    log.warn(
                        "Could not settle lease {} of {} ({} tokens): {}", admitted.leaseId(),
                        admitted.userId(), chargedTokens, e.toString());
                    return Mono.empty();
                  })
              .then();
        });
  }

  /** Renews the lease of every request in flight on this replica; drops leases that are gone. */
  public Mono<Void> renewLeases() {
    return Flux.fromIterable(inFlight.values())
        .flatMap(
            admitted ->
                store
                    .renew(admitted.userId(), admitted.leaseId(), clock.millis(), leaseTtlMillis)
                    .filter(renewed -> !renewed)
                    .doOnNext(gone -> inFlight.remove(admitted.leaseId()))
                    // A store that is down now may answer the next round; the lease has slack.
                    .onErrorResume(e -> Mono.empty()),
            16)
        .then();
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
