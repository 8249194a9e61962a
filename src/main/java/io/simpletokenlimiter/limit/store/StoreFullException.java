package io.simpletokenlimiter.limit.store;

/**
 * The store tracks as many users as it may and refuses to start tracking another: forgetting a user
 * who still has usage counted would under-count, and tracking without bound would exhaust the heap.
 * Users already tracked keep working; new ones are admitted again once idle users are swept. The
 * API answers 503 {@code limiter_unavailable}.
 */
public class StoreFullException extends RuntimeException {

  public StoreFullException(String message) {
    super(message);
  }
}
