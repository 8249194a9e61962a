package io.simpletokenlimiter.limit.store;

import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TokenWeights;
import java.util.Optional;

/**
 * One atomic admission: check every window, the month and the in-flight limit of the user and, for
 * a team member, of the team, then record a lease in both.
 *
 * @param userId the user's ledger: their id, or {@link Ledgers#member} of their team
 * @param weights what the request's tokens cost in the units the limits count
 */
public record AdmitCommand(
    String userId,
    String leaseId,
    ReservationRequest request,
    Limits limits,
    long nowMillis,
    long leaseTtlMillis,
    TokenWeights weights,
    Optional<Team> team) {

  /** A user in no team, counting plain tokens. */
  public AdmitCommand(
      String userId,
      String leaseId,
      ReservationRequest request,
      Limits limits,
      long nowMillis,
      long leaseTtlMillis) {
    this(
        userId,
        leaseId,
        request,
        limits,
        nowMillis,
        leaseTtlMillis,
        TokenWeights.ONE,
        Optional.empty());
  }

  /** The least the request can cost, in units. */
  public long minimumUnits() {
    return weights.cost(request, request.minCompletionPerChoice());
  }

  /** What the request costs with {@code completionPerChoice}, in units. */
  public long unitsWith(long completionPerChoice) {
    return weights.cost(request, completionPerChoice);
  }

  /**
   * The largest completion budget per choice, at most the requested maximum, whose cost fits in
   * {@code roomUnits}; below the requested minimum when not even that fits.
   */
  public long grantWithin(long roomUnits) {
    long forCompletion = roomUnits - weights.promptUnits(request.promptTokens());
    if (forCompletion < 0) {
      return -1;
    }
    long perChoice = weights.completionTokensWithin(forCompletion) / request.choices();
    return Math.min(request.maxCompletionPerChoice(), perChoice);
  }
}
