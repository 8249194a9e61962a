package io.simpletokenlimiter.limit;

import io.simpletokenlimiter.limit.store.LimitStore;

/** The outcome of asking to reserve tokens and an in-flight slot for one request. */
public sealed interface Admission {

  /**
   * The request may go ahead; {@code reservedTokens} are held until it is settled.
   *
   * @param completionTokensPerChoice the completion budget granted, to send as {@code max_tokens}
   * @param holder the store that recorded the lease: it is settled and renewed there (a Redis
   *     outage's fallback store keeps its own leases)
   */
  record Admitted(
      String userId,
      String leaseId,
      long reservedTokens,
      long completionTokensPerChoice,
      Quota quota,
      LimitStore holder)
      implements Admission {

    /** The same lease, to be settled and renewed through {@code store} instead. */
    public Admitted heldBy(LimitStore store) {
      return new Admitted(userId, leaseId, reservedTokens, completionTokensPerChoice, quota, store);
    }
  }

  /**
   * Over a limit right now; the same request fits again after {@code retryAfterMillis}.
   *
   * @param scope whether the user's own limit or their team's blocked
   */
  record Rejected(LimitType limitType, long retryAfterMillis, Quota quota, LimitScope scope)
      implements Admission {

    /** Over one of the user's own limits. */
    public Rejected(LimitType limitType, long retryAfterMillis, Quota quota) {
      this(limitType, retryAfterMillis, quota, LimitScope.USER);
    }
  }

  /**
   * The request can never fit: its least cost exceeds a whole window's limit. Retrying cannot help,
   * so this is a client error, not a 429.
   */
  record TooLarge(LimitType limitType, long limit, long requested, LimitScope scope)
      implements Admission {

    /** Larger than one of the user's own limits. */
    public TooLarge(LimitType limitType, long limit, long requested) {
      this(limitType, limit, requested, LimitScope.USER);
    }
  }
}
