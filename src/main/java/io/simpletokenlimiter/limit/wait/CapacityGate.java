package io.simpletokenlimiter.limit.wait;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.RateLimitedException;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.TokenLimiter;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * The model's capacity: at most {@code token.limit.upstream.max-in-flight} requests in flight to
 * vLLM. Each admitted request also holds a slot of a reserved ledger in the limit store, {@link
 * #LEDGER}, admitted and settled like a user's in-flight slots (zero tokens, the slot count as its
 * in-flight limit), so that with Redis the count is deployment-wide and a dead replica's slots
 * expire like any lease.
 *
 * <p>When the model is full, requests wait and the next slot goes to the user whose turn it is
 * ({@link WeightedTurns}), not to the oldest request. The turns are kept per replica: across
 * replicas, each replica shares out the slots it wins, and the slots go to the replicas that ask
 * first.
 */
final class CapacityGate {

  /** The ledger of the model's slots: no user id can contain {@code #}. */
  static final String LEDGER = "#upstream-capacity";

  private static final ReservationRequest SLOT = ReservationRequest.fixed(0, 1, 1);

  private final TokenLimiter slots;
  private final ToIntFunction<String> shares;
  private final WaitBounds bounds;
  private final WaitEvents events;
  private final Scheduler timer;
  private final Map<String, Lease> slotByLease = new ConcurrentHashMap<>();

  // Guarded by this.
  private final Map<String, ArrayDeque<Waiter<Lease>>> waiting = new HashMap<>();
  private final WeightedTurns turns = new WeightedTurns();
  private boolean trying;
  private boolean wokenWhileTrying;
  private Disposable retry = () -> {};

  /**
   * @param slots the limiter of {@link #LEDGER}: unlimited tokens, the capacity as its in-flight
   *     limit
   * @param shares a user's share of the turns: the share of the user's tier
   */
  CapacityGate(
      TokenLimiter slots,
      ToIntFunction<String> shares,
      WaitBounds bounds,
      WaitEvents events,
      Scheduler timer) {
    this.slots = slots;
    this.shares = shares;
    this.bounds = bounds;
    this.events = events;
    this.timer = timer;
  }

  /**
   * Takes a slot of the model for the request of {@code admitted}, waiting until {@code
   * deadlineMillis} for one. The slot is given back when {@code admitted} ends; without a slot
   * {@code admitted} is released (nothing charged) and the answer is 429 {@code capacity}.
   */
  Mono<Lease> enter(Lease admitted, LeaseScope scope, long deadlineMillis) {
    return Mono.defer(
        () -> {
          if (nobodyWaits()) {
            return slots
                .admit(LEDGER, SLOT, scope)
                .map(slot -> hold(admitted, slot))
                .onErrorResume(
                    RateLimitedException.class,
                    e -> wait(admitted, scope, deadlineMillis, e.rejection().retryAfterMillis()));
          }
          return wait(admitted, scope, deadlineMillis, RetryHints.SHORT_RETRY_MILLIS);
        });
  }

  /** A lease ended here: its slot of the model, if it held one, goes back. */
  void ended(Lease lease) {
    Lease slot = slotByLease.remove(lease.id());
    if (slot != null) {
      slot.release();
    }
  }

  /** A slot of the model was given back here: the next in turn may take it. */
  void slotFreed(Lease slot) {
    if (!nobodyWaits()) {
      slot.whenSettled().subscribe(null, null, this::tryNextLater);
    }
  }

  Mono<Void> renewSlots() {
    return slots.renewLeases();
  }

  private synchronized boolean nobodyWaits() {
    return turns.isEmpty();
  }

  private Lease hold(Lease admitted, Lease slot) {
    slotByLease.put(admitted.id(), slot);
    if (admitted.isSettled()) {
      ended(admitted);
    }
    return admitted;
  }

  private Mono<Lease> wait(
      Lease admitted, LeaseScope scope, long deadlineMillis, long retryAfterMillis) {
    String userId = admitted.userId();
    RateLimitedException full =
        new RateLimitedException(
            new Admission.Rejected(LimitType.CAPACITY, retryAfterMillis, admitted.quota()));
    if (deadlineMillis <= now()) {
      admitted.release();
      return Mono.error(full);
    }
    return Mono.create(
        sink -> {
          if (!bounds.tryEnter(userId)) {
            admitted.release();
            sink.error(full);
            return;
          }
          Waiter<Lease> waiter =
              new Waiter<>(userId, admitted, scope, deadlineMillis, sink, events);
          boolean first;
          synchronized (this) {
            first = turns.isEmpty();
            waiting.computeIfAbsent(userId, user -> new ArrayDeque<>()).addLast(waiter);
            turns.join(userId, shares.applyAsInt(userId));
          }
          waiter.start(
              outcome -> leave(waiter, outcome),
              timer.schedule(
                  () -> waiter.reject(full),
                  Math.max(0, deadlineMillis - now()),
                  TimeUnit.MILLISECONDS));
          if (first) {
            retryAfter(retryAfterMillis);
          }
        });
  }

  private void tryNext() {
    Waiter<Lease> next;
    synchronized (this) {
      if (trying) {
        wokenWhileTrying = true;
        return;
      }
      String userId = turns.current();
      if (userId == null) {
        return;
      }
      next = waiting.get(userId).peekFirst();
      trying = true;
      wokenWhileTrying = false;
    }
    slots
        .admit(LEDGER, SLOT, next.scope())
        .subscribe(
            slot -> {
              served(next);
              hold(next.subject(), slot);
              if (!next.admit(next.subject())) {
                ended(next.subject());
              }
              tryNextLater();
            },
            error -> {
              if (error instanceof RateLimitedException rateLimited) {
                boolean woken;
                synchronized (this) {
                  trying = false;
                  woken = wokenWhileTrying;
                }
                if (woken) {
                  tryNextLater();
                } else {
                  retryAfter(rateLimited.rejection().retryAfterMillis());
                }
              } else {
                served(next);
                next.fail(error);
                tryNextLater();
              }
            });
  }

  /**
   * Tries again from a fresh stack: the memory store answers within the call, so serving waiter
   * after waiter directly would nest one admission per waiting request.
   */
  private void tryNextLater() {
    timer.schedule(this::tryNext);
  }

  /** Ends the attempt that served {@code waiter}, and its user's turn. */
  private synchronized void served(Waiter<Lease> waiter) {
    trying = false;
    ArrayDeque<Waiter<Lease>> queue = waiting.get(waiter.userId());
    if (queue != null && queue.remove(waiter)) {
      if (queue.isEmpty()) {
        waiting.remove(waiter.userId());
      }
      turns.served(waiter.userId(), !queue.isEmpty());
    }
  }

  private synchronized void retryAfter(long millis) {
    retry.dispose();
    retry = timer.schedule(this::tryNext, Math.max(1, millis), TimeUnit.MILLISECONDS);
  }

  private void leave(Waiter<Lease> waiter, WaitEvents.WaitOutcome outcome) {
    synchronized (this) {
      ArrayDeque<Waiter<Lease>> queue = waiting.get(waiter.userId());
      if (queue != null && queue.remove(waiter) && queue.isEmpty()) {
        waiting.remove(waiter.userId());
        turns.leave(waiter.userId());
      }
    }
    bounds.leave(waiter.userId());
    // Without a slot the admitted request never reaches vLLM: its lease ends, charged nothing.
    if (outcome == WaitEvents.WaitOutcome.CANCELLED) {
      waiter.subject().abandon();
    } else if (outcome != WaitEvents.WaitOutcome.ADMITTED) {
      waiter.subject().release();
    }
  }

  private long now() {
    return timer.now(TimeUnit.MILLISECONDS);
  }
}
