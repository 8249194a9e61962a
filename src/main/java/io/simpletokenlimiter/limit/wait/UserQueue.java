package io.simpletokenlimiter.limit.wait;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.ReservationRequest;
import java.util.ArrayDeque;
import java.util.Deque;
import reactor.core.Disposable;

/**
 * The waiting requests of one user, in arrival order, and whether its head is being tried in the
 * store now. Only the head is tried, one attempt at a time; a wake-up that comes during an attempt
 * is remembered so that the room it announced is not missed.
 */
final class UserQueue {

  private final Deque<Waiter<ReservationRequest>> waiting = new ArrayDeque<>();
  private boolean trying;
  private boolean wokenWhileTrying;
  private Admission.Rejected lastRejection;
  private Disposable retry = () -> {};

  UserQueue(Admission.Rejected rejection) {
    this.lastRejection = rejection;
  }

  synchronized void add(Waiter<ReservationRequest> waiter) {
    waiting.addLast(waiter);
  }

  synchronized boolean isEmpty() {
    return waiting.isEmpty();
  }

  synchronized boolean remove(Waiter<ReservationRequest> waiter) {
    return waiting.remove(waiter);
  }

  /** The latest answer the store gave this queue: what a request turned away at once is told. */
  synchronized Admission.Rejected lastRejection() {
    return lastRejection;
  }

  /** The head to try now, or empty when there is none or an attempt is under way. */
  synchronized Waiter<ReservationRequest> startAttempt() {
    if (trying) {
      wokenWhileTrying = true;
      return null;
    }
    Waiter<ReservationRequest> head = waiting.peekFirst();
    if (head != null) {
      trying = true;
      wokenWhileTrying = false;
    }
    return head;
  }

  /** Ends an attempt that admitted {@code head}. */
  synchronized void admitted(Waiter<ReservationRequest> head) {
    trying = false;
    waiting.remove(head);
  }

  /** Ends an attempt that was turned away; true when a wake-up came meanwhile: try again now. */
  synchronized boolean rejected(Admission.Rejected rejection) {
    trying = false;
    lastRejection = rejection;
    return wokenWhileTrying;
  }

  /** Ends an attempt that failed: {@code head} leaves with the failure. */
  synchronized void failed(Waiter<ReservationRequest> head) {
    trying = false;
    waiting.remove(head);
  }

  synchronized void retryWith(Disposable timer) {
    retry.dispose();
    retry = timer;
  }

  /** Nothing waits and nothing is being tried: the queue may be dropped. */
  synchronized boolean closeIfIdle() {
    if (!waiting.isEmpty() || trying) {
      return false;
    }
    retry.dispose();
    return true;
  }
}
