package io.simpletokenlimiter.limit.wait;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.RateLimitedException;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TokenLimiter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Requests blocked by their user's own limits (a window or the in-flight limit), held without a
 * thread until they fit, one queue per user in arrival order. Only a queue's head asks the store,
 * so a small request never takes the room a larger one ahead of it waits for. The head is tried
 * again when a lease of the same user settles on this replica, and at the retry time the store
 * computed, which is how settles on other replicas are noticed.
 *
 * <p>A request with no wait, or one that finds no queue of its user, asks the store directly: the
 * path without waiting costs no more than before.
 */
final class UserQueues {

  private final TokenLimiter limiter;
  private final WaitBounds bounds;
  private final WaitEvents events;
  private final Scheduler timer;
  private final Map<String, UserQueue> queues = new ConcurrentHashMap<>();

  UserQueues(TokenLimiter limiter, WaitBounds bounds, WaitEvents events, Scheduler timer) {
    this.limiter = limiter;
    this.bounds = bounds;
    this.events = events;
    this.timer = timer;
  }

  /** Admits the request, waiting until {@code deadlineMillis} (on {@code timer}) for room. */
  Mono<Lease> admit(
      String userId, ReservationRequest request, LeaseScope scope, long deadlineMillis) {
    return Mono.defer(
        () -> {
          UserQueue queue = queues.get(userId);
          if (queue != null && !queue.isEmpty()) {
            // Behind the requests already waiting: arrival order.
            return wait(userId, request, scope, deadlineMillis, queue.lastRejection());
          }
          return limiter
              .admit(userId, request, scope)
              .onErrorResume(
                  RateLimitedException.class,
                  e -> wait(userId, request, scope, deadlineMillis, e.rejection()));
        });
  }

  /** A lease of {@code userId} settled here: the head of the user's queue may fit now. */
  void settled(Lease lease) {
    UserQueue queue = queues.get(lease.userId());
    if (queue != null) {
      lease.whenSettled().subscribe(null, null, () -> tryNextHead(lease.userId(), queue));
    }
  }

  private Mono<Lease> wait(
      String userId,
      ReservationRequest request,
      LeaseScope scope,
      long deadlineMillis,
      Admission.Rejected rejection) {
    if (!comesBackWithin(rejection, deadlineMillis - now())) {
      return Mono.error(new RateLimitedException(rejection));
    }
    return Mono.create(
        sink -> {
          if (!bounds.tryEnter(userId)) {
            sink.error(new RateLimitedException(rejection));
            return;
          }
          enqueue(new Waiter<>(userId, request, scope, deadlineMillis, sink, events), rejection);
        });
  }

  private void enqueue(Waiter<ReservationRequest> waiter, Admission.Rejected rejection) {
    String userId = waiter.userId();
    boolean[] first = new boolean[1];
    UserQueue queue =
        queues.compute(
            userId,
            (user, existing) -> {
              UserQueue target = existing == null ? new UserQueue(rejection) : existing;
              first[0] = target.isEmpty();
              target.add(waiter);
              return target;
            });
    waiter.start(
        outcome -> leave(queue, waiter),
        timer.schedule(
            () -> expire(queue, waiter),
            Math.max(0, waiter.deadlineMillis() - now()),
            TimeUnit.MILLISECONDS));
    if (first[0]) {
      retryAfter(userId, queue, rejection);
    }
  }

  private void tryHead(String userId, UserQueue queue) {
    Waiter<ReservationRequest> head = queue.startAttempt();
    if (head == null) {
      dropIfIdle(userId, queue);
      return;
    }
    limiter
        .admit(userId, head.subject(), head.scope())
        .subscribe(
            lease -> {
              queue.admitted(head);
              if (!head.admit(lease)) {
                lease.abandon();
              }
              tryNextHead(userId, queue);
            },
            error -> {
              if (!(error instanceof RateLimitedException rateLimited)) {
                queue.failed(head);
                head.fail(error);
                tryNextHead(userId, queue);
                return;
              }
              Admission.Rejected rejection = rateLimited.rejection();
              boolean woken = queue.rejected(rejection);
              if (!comesBackWithin(rejection, head.deadlineMillis() - now())) {
                // Its room cannot come back in time: say so now rather than at its deadline.
                head.reject(rateLimited);
                tryNextHead(userId, queue);
              } else if (woken) {
                tryNextHead(userId, queue);
              } else {
                retryAfter(userId, queue, rejection);
              }
            });
  }

  /**
   * Tries the queue's head again from a fresh stack: the memory store answers within the call, so
   * trying head after head (or settle after settle) directly would nest one admission per waiting
   * request.
   */
  private void tryNextHead(String userId, UserQueue queue) {
    timer.schedule(() -> tryHead(userId, queue));
  }

  private void retryAfter(String userId, UserQueue queue, Admission.Rejected rejection) {
    queue.retryWith(
        timer.schedule(
            () -> tryHead(userId, queue),
            Math.max(1, rejection.retryAfterMillis()),
            TimeUnit.MILLISECONDS));
  }

  /**
   * The wait ran out: one last try, out of turn, so the client is told the store's answer of now
   * (admitted, or a fresh {@code retry_after}).
   */
  private void expire(UserQueue queue, Waiter<ReservationRequest> waiter) {
    if (!queue.remove(waiter)) {
      return;
    }
    limiter
        .admit(waiter.userId(), waiter.subject(), waiter.scope())
        .subscribe(
            lease -> {
              if (!waiter.admit(lease)) {
                lease.abandon();
              }
            },
            error -> {
              if (error instanceof RateLimitedException rateLimited) {
                waiter.reject(rateLimited);
              } else {
                waiter.fail(error);
              }
            });
  }

  private void leave(UserQueue queue, Waiter<ReservationRequest> waiter) {
    queue.remove(waiter);
    bounds.leave(waiter.userId());
    dropIfIdle(waiter.userId(), queue);
  }

  private void dropIfIdle(String userId, UserQueue queue) {
    queues.computeIfPresent(
        userId, (user, current) -> current == queue && queue.closeIfIdle() ? null : current);
  }

  /**
   * Whether the room can come back within {@code remainingMillis}. The store's retry time is when
   * enough of the window expires; requests of the user in flight may give room back sooner, when
   * they settle below their reservation, and the in-flight limit frees when requests end: nobody
   * can predict either, so with requests in flight a request waits whatever its wait.
   */
  private static boolean comesBackWithin(Admission.Rejected rejection, long remainingMillis) {
    return remainingMillis > 0
        && (rejection.limitType() == LimitType.CONCURRENT
            || rejection.quota().inFlight() > 0
            || rejection.retryAfterMillis() <= remainingMillis);
  }

  private long now() {
    return timer.now(TimeUnit.MILLISECONDS);
  }
}
