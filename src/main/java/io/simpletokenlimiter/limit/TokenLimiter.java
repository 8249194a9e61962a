package io.simpletokenlimiter.limit;

import reactor.core.publisher.Mono;

/**
 * The limiter as the request path sees it: reserve before forwarding, settle after the answer.
 * Every {@link Admission.Admitted} must be settled exactly once (success, failure or cancel), or
 * its slot stays taken until its lease expires.
 */
public interface TokenLimiter {

  Mono<Admission> admit(String userId, ReservationRequest request);

  /** Replaces the reservation by what was really served; 0 for a failed upstream call. */
  Mono<Void> settle(Admission.Admitted admitted, long chargedTokens);
}
