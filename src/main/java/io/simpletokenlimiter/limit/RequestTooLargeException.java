package io.simpletokenlimiter.limit;

/** The request can never fit a window's limit, so retrying cannot help; nothing was reserved. */
public final class RequestTooLargeException extends RuntimeException {

  private final Admission.TooLarge tooLarge;

  public RequestTooLargeException(Admission.TooLarge tooLarge) {
    super(
        "This request needs %d tokens but the %s limit is %d"
            .formatted(tooLarge.requested(), tooLarge.limitType().label(), tooLarge.limit()),
        null,
        false,
        false);
    this.tooLarge = tooLarge;
  }

  public Admission.TooLarge tooLarge() {
    return tooLarge;
  }
}
