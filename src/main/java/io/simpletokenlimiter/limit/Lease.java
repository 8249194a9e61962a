package io.simpletokenlimiter.limit;

import io.simpletokenlimiter.limit.store.Ledgers;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * One admitted request in flight on this replica: the only record of it. It holds a reservation and
 * a slot in its store until it is settled, exactly once, whichever path ends the request first: the
 * answer, an upstream failure, the client leaving ({@link LeaseScope} closing), or the renewal
 * finding it orphaned.
 *
 * <p>A settle starts at once and runs to the end even if nobody waits for it: the answer need not
 * wait for the store's round trip, because the reservation keeps counting until the settle lands.
 */
public final class Lease {

  private static final Logger log = LoggerFactory.getLogger(Lease.class);

  private static final int SETTLE_ATTEMPTS = 5;

  private static final Duration FIRST_RETRY = Duration.ofMillis(100);
  private static final Duration LONGEST_RETRY = Duration.ofSeconds(1);

  private final Admission.Admitted grant;
  private final TokenWeights weights;
  private final TokenUsage wholeReservation;
  private final LeaseScope scope;
  private final long admittedAtMillis;
  private final LeaseContext context;
  private final AtomicReference<Settlement> settlement = new AtomicReference<>();
  private volatile Supplier<TokenUsage> costIfAbandoned = () -> TokenUsage.NONE;

  /** How the request of a settled lease ended. */
  public enum Ending {
    /** vLLM answered; charged its usage. */
    ANSWERED,
    /** vLLM failed, refused or was cut off; charged only what it is known to have produced. */
    UPSTREAM_FAILED,
    /** The client left first; charged what the request had cost by then. */
    ABANDONED
  }

  /**
   * @param weights what each kind of token costs: charges are in units, as the reservation
   * @param wholeReservation the most vLLM may serve: the prompt and every choice's granted budget
   */
  Lease(
      Admission.Admitted grant,
      TokenWeights weights,
      TokenUsage wholeReservation,
      LeaseScope scope,
      long admittedAtMillis,
      LeaseContext context) {
    this.grant = grant;
    this.weights = weights;
    this.wholeReservation = wholeReservation;
    this.scope = scope;
    this.admittedAtMillis = admittedAtMillis;
    this.context = context;
  }

  public String userId() {
    return Ledgers.user(grant.userId());
  }

  /** The user's team when the request was admitted: its settle is charged there too. */
  public Optional<String> team() {
    return Ledgers.team(grant.userId());
  }

  public String id() {
    return grant.leaseId();
  }

  /** The units (weighted tokens) held until the lease is settled. */
  public long reservedTokens() {
    return grant.reservedTokens();
  }

  /** The most vLLM may serve, in tokens: what to charge when nothing better is known. */
  public TokenUsage wholeReservation() {
    return wholeReservation;
  }

  /** The completion budget granted per choice: what vLLM is told as {@code max_tokens}. */
  public long completionTokensPerChoice() {
    return grant.completionTokensPerChoice();
  }

  /** The limits after this admission: what the {@code x-ratelimit-*} headers tell. */
  public Quota quota() {
    return grant.quota();
  }

  /**
   * Replaces the reservation by {@code usage}, capped at the reservation (vLLM cannot have served
   * more than it was allowed; a larger report is logged and counted, never charged). Only the first
   * settle counts; later ones return the first one's result. Never fails: a settle the store does
   * not take leaves the lease to expire there, charged its reservation.
   *
   * @return completes when the store has the charge; subscribing is optional
   */
  public Mono<Void> settle(TokenUsage usage) {
    return end(usage, Ending.ANSWERED);
  }

  /**
   * As {@link #settle}, for a request vLLM did not answer in full: {@code produced} is what it is
   * known to have done (nothing for a refusal or an unreachable vLLM).
   */
  public Mono<Void> fail(TokenUsage produced) {
    return end(produced, Ending.UPSTREAM_FAILED);
  }

  private Mono<Void> end(TokenUsage usage, Ending how) {
    Settlement existing = settlement.get();
    if (existing != null) {
      return existing.call();
    }
    TokenUsage charged = capped(usage);
    long units = Math.min(weights.units(charged), reservedTokens());
    Sinks.Empty<Void> landed = Sinks.empty();
    Mono<Void> call = landed.asMono();
    if (!settlement.compareAndSet(null, new Settlement(call, how, charged, units))) {
      return settlement.get().call();
    }
    context.ended().accept(this);
    context.events().settled(this, charged);
    settleAttempt(units, 1).subscribe(null, error -> landed.tryEmitEmpty(), landed::tryEmitEmpty);
    return call;
  }

  /**
   * One try to settle, and the next ones assembled only if it fails: a store that is slow or
   * briefly down now may take it a moment later; a settle that ran although its answer timed out
   * finds no lease the second time and changes nothing. Never fails.
   */
  private Mono<Void> settleAttempt(long units, int attempt) {
    return Mono.defer(
            () -> grant.holder().settle(grant.userId(), id(), units, context.clock().millis()))
        .then()
        .onErrorResume(
            error -> {
              if (attempt < SETTLE_ATTEMPTS) {
                return Mono.delay(retryDelay(attempt)).then(settleAttempt(units, attempt + 1));
              }
              log.warn(
                  "Settling lease {} of {} ({} units) failed {} times; it expires by itself: {}",
                  id(),
                  userId(),
                  units,
                  SETTLE_ATTEMPTS,
                  error.toString());
              return Mono.empty();
            });
  }

  /**
   * 100 ms doubling up to 1 s, each between half and the whole of it so that the settles of a Redis
   * outage do not all come back at once: about 1.5 s in all, well within the lease TTL.
   */
  private static Duration retryDelay(int attempt) {
    long millis = Math.min(FIRST_RETRY.toMillis() << (attempt - 1), LONGEST_RETRY.toMillis());
    return Duration.ofMillis(millis / 2 + ThreadLocalRandom.current().nextLong(millis / 2 + 1));
  }

  /** Ends a lease whose request vLLM did not serve at all: nothing is charged. */
  public Mono<Void> release() {
    return fail(TokenUsage.NONE);
  }

  /**
   * What to charge if the request ends without a settle (the client left): the flow raises it as
   * the request gets further (nothing before it is forwarded, the reservation while vLLM works on
   * an answer, what a stream produced so far).
   */
  public void chargeIfAbandoned(Supplier<TokenUsage> cost) {
    this.costIfAbandoned = cost;
  }

  /**
   * As {@link #chargeIfAbandoned}, for the step that sets vLLM to work: false if the lease has
   * already ended, and then the step must not go ahead, since nothing would charge for that work. A
   * client that leaves while its request is on the way can end the lease before a cancel reaches
   * the request; this and {@link #abandon} take turns, so an abandon either sees {@code cost} or
   * comes first and is seen here.
   */
  public synchronized boolean chargeIfAbandonedUnlessEnded(Supplier<TokenUsage> cost) {
    if (isSettled()) {
      return false;
    }
    this.costIfAbandoned = cost;
    return true;
  }

  /** Settles with what is known to have been spent: for a request whose client went away. */
  public synchronized Mono<Void> abandon() {
    return end(costIfAbandoned.get(), Ending.ABANDONED);
  }

  /**
   * Completes once the settle of an ended lease has reached its store (or was given up): from then
   * on its slot and unused reservation are free for others. Fails for a lease not yet ended.
   */
  public Mono<Void> whenSettled() {
    Settlement ended = settlement.get();
    return ended == null
        ? Mono.error(new IllegalStateException("lease " + id() + " has not ended"))
        : ended.call();
  }

  public boolean isSettled() {
    return settlement.get() != null;
  }

  /** How the request ended, once the lease is settled. */
  public Optional<Ending> ending() {
    return Optional.ofNullable(settlement.get()).map(Settlement::ending);
  }

  /** What was charged, in tokens, once the lease is settled. */
  public Optional<TokenUsage> charged() {
    return Optional.ofNullable(settlement.get()).map(Settlement::charged);
  }

  /** What was charged, in the units the limits count, once the lease is settled. */
  public Optional<Long> chargedUnits() {
    return Optional.ofNullable(settlement.get()).map(Settlement::units);
  }

  boolean scopeOpen() {
    return scope.isOpen();
  }

  long admittedAtMillis() {
    return admittedAtMillis;
  }

  /** Pushes the lease's expiry in its store; false when the store no longer has it. */
  Mono<Boolean> renew(long nowMillis, long ttlMillis) {
    return grant.holder().renew(grant.userId(), id(), nowMillis, ttlMillis);
  }

  /** A report beyond the reservation (a broken upstream) is charged the whole reservation. */
  private TokenUsage capped(TokenUsage usage) {
    if (weights.units(usage) <= reservedTokens()) {
      return usage;
    }
    context.events().overReported(this, usage);
    return wholeReservation;
  }

  private record Settlement(Mono<Void> call, Ending ending, TokenUsage charged, long units) {}

  /** What every lease of one limiter shares. */
  record LeaseContext(Clock clock, LeaseEvents events, Consumer<Lease> ended) {}
}
