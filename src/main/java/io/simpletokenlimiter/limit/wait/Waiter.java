package io.simpletokenlimiter.limit.wait;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.wait.WaitEvents.WaitOutcome;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import reactor.core.Disposable;
import reactor.core.publisher.MonoSink;

/**
 * One request waiting in a queue. It ends exactly once: admitted, rejected, failed, or given up by
 * its client (the sink cancelled or its scope, the HTTP exchange, closed); whichever comes first
 * takes it out of its queue and out of the bounds.
 *
 * @param <T> what the queue needs to admit it
 */
final class Waiter<T> {

  private final String userId;
  private final T subject;
  private final LeaseScope scope;
  private final long deadlineMillis;
  private final long startNanos = System.nanoTime();
  private final MonoSink<Lease> sink;
  private final WaitEvents events;
  private final AtomicBoolean ended = new AtomicBoolean();
  private volatile Consumer<WaitOutcome> onEnd = outcome -> {};
  private volatile Disposable deadlineTimer = () -> {};

  Waiter(
      String userId,
      T subject,
      LeaseScope scope,
      long deadlineMillis,
      MonoSink<Lease> sink,
      WaitEvents events) {
    this.userId = userId;
    this.subject = subject;
    this.scope = scope;
    this.deadlineMillis = deadlineMillis;
    this.sink = sink;
    this.events = events;
  }

  /**
   * Starts waiting: {@code onEnd} runs once when the wait ends, however it ends, and {@code
   * deadlineTimer} is stopped then. A client that leaves ends the wait at once.
   */
  void start(Consumer<WaitOutcome> onEnd, Disposable deadlineTimer) {
    this.onEnd = onEnd;
    this.deadlineTimer = deadlineTimer;
    sink.onCancel(this::cancel);
    scope.onClose(this::cancel);
  }

  String userId() {
    return userId;
  }

  T subject() {
    return subject;
  }

  LeaseScope scope() {
    return scope;
  }

  long deadlineMillis() {
    return deadlineMillis;
  }

  /** Hands {@code lease} over; false when the wait had ended, so the caller must end the lease. */
  boolean admit(Lease lease) {
    if (!end(WaitOutcome.ADMITTED)) {
      return false;
    }
    sink.success(lease);
    return true;
  }

  void reject(RuntimeException rejection) {
    if (end(WaitOutcome.REJECTED)) {
      sink.error(rejection);
    }
  }

  void fail(Throwable error) {
    if (end(WaitOutcome.FAILED)) {
      sink.error(error);
    }
  }

  private void cancel() {
    end(WaitOutcome.CANCELLED);
  }

  private boolean end(WaitOutcome outcome) {
    if (!ended.compareAndSet(false, true)) {
      return false;
    }
    deadlineTimer.dispose();
    onEnd.accept(outcome);
    events.waited(outcome, Duration.ofNanos(System.nanoTime() - startNanos));
    return true;
  }
}
