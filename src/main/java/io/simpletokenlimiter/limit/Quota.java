package io.simpletokenlimiter.limit;

/**
 * The state of the tightest token window and of the in-flight limit after a decision: what the
 * {@code x-ratelimit-*} headers tell a client.
 *
 * @param limitTokens the tightest window's limit, or {@link Limits#UNLIMITED} if none is set
 * @param remainingTokens room left in that window (never negative)
 * @param resetMillis time until that window's settled usage has all expired
 * @param maxConcurrent the in-flight limit
 * @param inFlight requests in flight, this one included when admitted
 * @param scope whose window the token figures describe: the user's, or their team's when it has
 *     less room
 */
public record Quota(
    LimitType tightest,
    long limitTokens,
    long remainingTokens,
    long resetMillis,
    int maxConcurrent,
    int inFlight,
    LimitScope scope) {

  /** The user's own quota. */
  public Quota(
      LimitType tightest,
      long limitTokens,
      long remainingTokens,
      long resetMillis,
      int maxConcurrent,
      int inFlight) {
    this(
        tightest,
        limitTokens,
        remainingTokens,
        resetMillis,
        maxConcurrent,
        inFlight,
        LimitScope.USER);
  }
}
