package io.simpletokenlimiter.limit.store.redis;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import io.simpletokenlimiter.server.LoopTimers;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * Puts a short timeout and a circuit breaker around a shared store (Redis), so that no request
 * waits for a store that is down, and applies the {@link OutagePolicy} while it is: fail closed, or
 * decide with a fallback store of this replica. The breaker half-opens by itself, so the shared
 * store is used again as soon as it answers, without a restart. Only the calls a request waits for
 * go through the breaker; settles, renewals and releases have the timeout alone.
 *
 * <p>Each lease is settled and renewed where it was admitted ({@link Admission.Admitted#holder()}):
 * the shared store's leases through this guard, the fallback's in the fallback, where they expire
 * with their TTL like any other. A lease of the shared store that cannot be settled while it is
 * down expires there and is charged its whole reservation, never less.
 */
public final class ResilientLimitStore implements LimitStore {

  private static final Logger log = LoggerFactory.getLogger(ResilientLimitStore.class);

  /** Tries to release an admission the primary did not answer: about 2 s of them in all. */
  private static final int RELEASE_ATTEMPTS = 5;

  private static final Duration FIRST_RELEASE_RETRY = Duration.ofMillis(100);
  private static final Duration LONGEST_RELEASE_RETRY = Duration.ofSeconds(1);

  /** Whose usage the probes of a half-open breaker read: a name no user id can have. */
  private static final String PROBE_USER = "breaker probe";

  /** Tries again to write an outage back while the breaker stays closed: about 12 s of them. */
  private static final int WRITE_BACK_RETRIES = 5;

  private static final Duration FIRST_WRITE_BACK_RETRY = Duration.ofMillis(500);
  private static final Duration LONGEST_WRITE_BACK_RETRY = Duration.ofSeconds(5);

  /** The longest a ranking of the heaviest users may take. */
  private static final Duration RANKING_TIMEOUT = Duration.ofSeconds(10);

  private final LimitStore primary;
  private final Optional<RememberingFallback> fallback;
  private final OutagePolicy policy;
  private final Duration timeout;
  private final CircuitBreaker breaker;
  private final Counter degradedDecisions;
  private final Map<String, Counter> errors = new ConcurrentHashMap<>();
  private final MeterRegistry registry;

  private ResilientLimitStore(
      LimitStore primary,
      Optional<RememberingFallback> fallback,
      OutagePolicy policy,
      Duration timeout,
      CircuitBreaker breaker,
      MeterRegistry registry) {
    this.primary = primary;
    this.fallback = fallback;
    this.policy = policy;
    this.timeout = timeout;
    this.breaker = breaker;
    this.registry = registry;
    this.degradedDecisions =
        Counter.builder("limiter.degraded.decisions")
            .description("Admission decisions taken while the shared limit store was unavailable")
            .tag("policy", policy.label())
            .register(registry);
    breaker
        .getEventPublisher()
        .onStateTransition(
            event -> {
              logTransition(event.getStateTransition());
              CircuitBreaker.State to = event.getStateTransition().getToState();
              if (to == CircuitBreaker.State.HALF_OPEN) {
                probe();
              } else if (to == CircuitBreaker.State.CLOSED) {
                fallback.ifPresent(this::writeBack);
              }
            });
    for (CircuitBreaker.State state : CircuitBreaker.State.values()) {
      Gauge.builder("limiter.redis.breaker.state", breaker, b -> b.getState() == state ? 1 : 0)
          .description("1 for the current state of the circuit breaker around Redis")
          .tag("state", state.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
  }

  /** While the primary is down, admissions fail with {@link StoreUnavailableException}. */
  public static ResilientLimitStore failClosed(
      LimitStore primary, Duration timeout, CircuitBreaker breaker, MeterRegistry registry) {
    return new ResilientLimitStore(
        primary, Optional.empty(), OutagePolicy.FAIL_CLOSED, timeout, breaker, registry);
  }

  /**
   * While the primary is down, {@code fallback} decides, granting each user at most their share (÷
   * {@code liveReplicas}) of the room the primary last reported for them.
   */
  public static ResilientLimitStore withFallback(
      LimitStore primary,
      LimitStore fallback,
      IntSupplier liveReplicas,
      Clock clock,
      Duration timeout,
      CircuitBreaker breaker,
      MeterRegistry registry) {
    return new ResilientLimitStore(
        primary,
        Optional.of(new RememberingFallback(fallback, liveReplicas, clock)),
        OutagePolicy.FALLBACK_MEMORY,
        timeout,
        breaker,
        registry);
  }

  /**
   * Opening and closing are what an operator must see; while Redis stays down the breaker goes on
   * half-opening to probe and opening again, twice a second, which only debug shows.
   */
  private void logTransition(CircuitBreaker.StateTransition transition) {
    String consequence =
        transition.getToState() == CircuitBreaker.State.CLOSED
            ? "Redis decides again"
            : policy == OutagePolicy.FAIL_CLOSED
                ? "admissions fail closed while open"
                : "this replica's memory decides while open";
    if (transition == CircuitBreaker.StateTransition.HALF_OPEN_TO_OPEN
        || transition == CircuitBreaker.StateTransition.OPEN_TO_HALF_OPEN) {
      log.debug("redis limit store breaker {}: {}", transition, consequence);
    } else {
      log.warn("redis limit store breaker {}: {}", transition, consequence);
    }
  }

  public OutagePolicy policy() {
    return policy;
  }

  public CircuitBreaker.State breakerState() {
    return breaker.getState();
  }

  @Override
  public Mono<Admission> admit(AdmitCommand command) {
    return guarded("admit", primary.admit(command))
        .doOnError(StoreUnavailableException.class, down -> releaseIfTimedOut(command, down))
        .doOnNext(admission -> fallback.ifPresent(f -> f.observe(command, admission)))
        .map(
            admission ->
                admission instanceof Admission.Admitted admitted
                    ? admitted.heldBy(this)
                    : admission)
        .onErrorResume(
            StoreUnavailableException.class,
            down -> {
              if (down.getCause() instanceof TimeoutException) {
                // A slow answer is not a dead Redis: it may still count this user as spent, so this
                // replica's memory must not decide (503, retried by clients) until the breaker has
                // seen enough failures to open.
                return Mono.error(down);
              }
              degradedDecisions.increment();
              return fallback.map(f -> f.admit(command)).orElseGet(() -> Mono.error(down));
            });
  }

  /**
   * An admission the primary did not answer in time may have been recorded there all the same: its
   * script ran after the timeout (a command caught in a dropped connection is sent again on the
   * next, and ends the same way). One refused at once (the breaker open, the connection down, an
   * error reply) never ran, and needs nothing. Released, it holds no slot and is charged nothing;
   * left, it would hold its slot and be charged its reservation when it expires. Nobody waits for
   * the release, so it passes the breaker by ({@link #unwaited}): the timeouts that open it are
   * what leave such leases behind. Sent on the admission's connection (this thread's), it reaches
   * Redis after the admission's script, so one answer settles it; a failure is tried again a few
   * times. A try that timed out was still sent: a Redis that stalls runs it once it answers.
   */
  private void releaseIfTimedOut(AdmitCommand command, StoreUnavailableException down) {
    if (!(down.getCause() instanceof TimeoutException)) {
      return;
    }
    Mono.defer(
            () ->
                unwaited(
                    "release",
                    primary.settle(command.userId(), command.leaseId(), 0, command.nowMillis())))
        .retryWhen(backoff(RELEASE_ATTEMPTS - 1, FIRST_RELEASE_RETRY, LONGEST_RELEASE_RETRY))
        .subscribe(
            null,
            error ->
                log.warn(
                    "No release of lease {} of {} (its admission timed out) was confirmed: sent"
                        + " after the admission, the tries run once Redis answers again; if none"
                        + " ever reaches it, the lease expires, charged its reservation: {}",
                    command.leaseId(),
                    command.userId(),
                    error.toString()));
  }

  /**
   * Writes what the outage admitted back to Redis. A user whose write fails (a Redis still working
   * through what it missed may time it out) is tried again a few times while the breaker stays
   * closed; after that, when it next closes.
   */
  private void writeBack(RememberingFallback remembering) {
    remembering
        .writeBack(primary, timeout.multipliedBy(4))
        .then(
            Mono.defer(
                () ->
                    remembering.pendingWriteBack() > 0
                            && breaker.getState() == CircuitBreaker.State.CLOSED
                        ? Mono.error(new IllegalStateException("outage usage not all written back"))
                        : Mono.<Void>empty()))
        .retryWhen(backoff(WRITE_BACK_RETRIES, FIRST_WRITE_BACK_RETRY, LONGEST_WRITE_BACK_RETRY))
        .subscribe(
            null,
            error ->
                log.warn(
                    "{} outage tokens are not written back to Redis yet; tried again when the"
                        + " breaker next closes",
                    remembering.pendingWriteBack()));
  }

  /** Retries of a call nobody waits for, timed on the calling loop (else Reactor's timers). */
  private static Retry backoff(int retries, Duration first, Duration longest) {
    return Retry.backoff(retries, first).maxBackoff(longest).scheduler(LoopTimers.INSTANCE);
  }

  /**
   * A half-open breaker closes on the calls it lets through. A replica that gets no request would
   * stay half-open (and, past the breaker's longest half-open wait, open again and again), its
   * first request perhaps finding it open and decided without Redis, and what its outage admitted
   * would not be written back until a request came. So it asks Redis itself, as many times as the
   * breaker lets through, each whatever the one before did, so that the breaker decides at once: a
   * usage read, which writes nothing. If Redis is still down the breaker opens again, and
   * half-opens to another probe.
   */
  private void probe() {
    Flux.range(0, breaker.getCircuitBreakerConfig().getPermittedNumberOfCallsInHalfOpenState())
        .concatMap(
            i ->
                guarded("probe", primary.usage(PROBE_USER, System.currentTimeMillis()))
                    .onErrorResume(
                        error -> {
                          log.debug("Redis probe failed: {}", error.toString());
                          return Mono.empty();
                        }))
        .subscribe();
  }

  @Override
  public Mono<Boolean> settle(String userId, String leaseId, long chargedTokens, long nowMillis) {
    return unwaited("settle", primary.settle(userId, leaseId, chargedTokens, nowMillis));
  }

  @Override
  public Mono<Boolean> chargeOnce(String userId, String chargeId, long units, long nowMillis) {
    return unwaited("charge", primary.chargeOnce(userId, chargeId, units, nowMillis));
  }

  @Override
  public Mono<Boolean> renew(String userId, String leaseId, long nowMillis, long leaseTtlMillis) {
    return unwaited("renew", primary.renew(userId, leaseId, nowMillis, leaseTtlMillis));
  }

  /** The shared usage; while it is down, this replica's fallback counts under that policy. */
  @Override
  public Mono<UsageSnapshot> usage(String userId, long nowMillis) {
    return guarded("usage", primary.usage(userId, nowMillis))
        .onErrorResume(
            StoreUnavailableException.class,
            down ->
                fallback
                    .map(f -> f.memory().usage(userId, nowMillis))
                    .orElseGet(() -> Mono.error(down)));
  }

  /**
   * Carries in the shared store; this replica's fallback keeps users apart from their team, so it
   * has nothing to carry. A failure is logged by the caller: the move then counts from zero there.
   */
  @Override
  public Mono<Void> carryOver(String fromLedger, String toLedger, long nowMillis) {
    return guarded("carry", primary.carryOver(fromLedger, toLedger, nowMillis));
  }

  /** The shared team usage; while it is down, this replica's fallback counts. */
  @Override
  public Mono<UsageSnapshot> teamUsage(String team, long nowMillis) {
    return guarded("usage", primary.teamUsage(team, nowMillis))
        .onErrorResume(
            StoreUnavailableException.class,
            down ->
                fallback
                    .map(f -> f.memory().teamUsage(team, nowMillis))
                    .orElseGet(() -> Mono.error(down)));
  }

  /**
   * Forgets in the shared store (an error if it is down: the operator must know it did not happen)
   * and in this replica's fallback, which counted for the user during any outage.
   */
  @Override
  public Mono<Void> forget(String userId, long nowMillis) {
    return guarded("forget", primary.forget(userId, nowMillis))
        .then(fallback.map(f -> f.memory().forget(userId, nowMillis)).orElseGet(Mono::empty));
  }

  /**
   * The shared ranking. It reads many users, so neither the request path's timeout nor its breaker
   * applies: a slow ranking must not open the breaker for admissions. While the shared store is
   * down (its breaker open, or this call failing), this replica's fallback ranks under that policy,
   * as {@link #usage} does.
   */
  @Override
  public Mono<List<UserUsage>> top(Window window, int count, long nowMillis) {
    Mono<List<UserUsage>> shared =
        breaker.getState() == CircuitBreaker.State.OPEN
            ? Mono.error(new StoreUnavailableException("limit store breaker open (top)", null))
            : primary
                .top(window, count, nowMillis)
                .timeout(RANKING_TIMEOUT)
                .onErrorMap(
                    e -> !(e instanceof StoreUnavailableException),
                    e ->
                        new StoreUnavailableException(
                            "limit store unavailable (top): " + e.getMessage(), e));
    return shared.onErrorResume(
        StoreUnavailableException.class,
        down ->
            fallback
                .map(f -> f.memory().top(window, count, nowMillis))
                .orElseGet(() -> Mono.error(down)));
  }

  /**
   * The primary's answer within the timeout and through the breaker; any failure becomes a {@link
   * StoreUnavailableException}.
   */
  private <T> Mono<T> guarded(String operation, Mono<T> call) {
    // named: else the timeout works a name out of the chain on every call
    return unavailableOnError(
        operation,
        call.name(operation)
            .timeout(timeout, LoopTimers.INSTANCE)
            .transformDeferred(CircuitBreakerOperator.of(breaker)));
  }

  /**
   * As {@link #guarded}, past the breaker: for the calls nobody waits for (settles, renewals,
   * releases). The breaker keeps requests from waiting on a store that is down; refusing these
   * would only leave leases to hold their slots until they expire, charged their reservations, and
   * a breaker flapping under load refuses exactly the settles that were due.
   */
  private <T> Mono<T> unwaited(String operation, Mono<T> call) {
    return unavailableOnError(
        operation, call.name(operation).timeout(timeout, LoopTimers.INSTANCE));
  }

  private <T> Mono<T> unavailableOnError(String operation, Mono<T> call) {
    return call.onErrorMap(
        e -> !(e instanceof StoreUnavailableException),
        e -> {
          errors.computeIfAbsent(operation, this::errorCounter).increment();
          log.debug("limit store {} failed: {}", operation, e.toString());
          return new StoreUnavailableException(
              "limit store unavailable (" + operation + "): " + e.getMessage(), e);
        });
  }

  private Counter errorCounter(String operation) {
    return Counter.builder("limiter.redis.errors")
        .description("Calls to Redis that failed, timed out or were refused by the open breaker")
        .tag("operation", operation)
        .register(registry);
  }
}
