package io.simpletokenlimiter.limit;

/** Retry hints that every limit store gives alike. */
public final class RetryHints {

  /**
   * How long a client is told to wait when only requests in flight stand in its way: its in-flight
   * slots are taken, or live reservations hold the room it needs. Those free when the requests end,
   * which no bucket can predict; a short completion of a 1B model ends in about a second, and
   * OpenAI SDKs retry a 429 twice by themselves, so one second lets them come back soon without
   * spinning.
   */
  public static final long SHORT_RETRY_MILLIS = 1_000;

  private RetryHints() {}
}
