package io.simpletokenlimiter.limit;

/** The request is over a limit right now; nothing was reserved. */
public final class RateLimitedException extends RuntimeException {

  private final Admission.Rejected rejection;

  public RateLimitedException(Admission.Rejected rejection) {
    super("over the " + rejection.limitType().label() + " limit", null, false, false);
    this.rejection = rejection;
  }

  public Admission.Rejected rejection() {
    return rejection;
  }
}
