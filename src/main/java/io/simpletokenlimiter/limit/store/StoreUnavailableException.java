package io.simpletokenlimiter.limit.store;

/**
 * The store cannot decide right now (Redis unreachable, timed out, or its breaker open) and the
 * configured policy is to fail closed. The API answers 503: never silently unlimited.
 */
public class StoreUnavailableException extends RuntimeException {

  public StoreUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
