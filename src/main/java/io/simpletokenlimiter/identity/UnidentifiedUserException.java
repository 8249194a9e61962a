package io.simpletokenlimiter.identity;

/** The request does not say who is calling, or says it in a form we cannot use as a key. */
public class UnidentifiedUserException extends RuntimeException {

  /** Why the caller could not be identified. */
  public enum Reason {
    MISSING,
    INVALID,
    MISSING_API_KEY,
    INVALID_API_KEY,
    /** More than one {@code Authorization} header: a malformed request, not a wrong key. */
    MULTIPLE_API_KEYS
  }

  private final Reason reason;

  public UnidentifiedUserException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
