package io.simpletokenlimiter.limit.store;

import java.util.Optional;

/**
 * How a store names the ledger of a request: the user's id for a user in no team, {@code team/user}
 * for a team member ('/' is in neither alphabet). A lease carries the name of the ledger it was
 * admitted into, so its settle finds the same user and team ledgers even if the user has moved to
 * another team since.
 */
public final class Ledgers {

  private static final char SEPARATOR = '/';

  private Ledgers() {}

  public static String member(String team, String userId) {
    return team + SEPARATOR + userId;
  }

  public static String of(String userId, Optional<String> team) {
    return team.map(name -> member(name, userId)).orElse(userId);
  }

  /** The user of a ledger name. */
  public static String user(String ledger) {
    return ledger.substring(ledger.indexOf(SEPARATOR) + 1);
  }

  /** The team of a ledger name, if it is a team member's. */
  public static Optional<String> team(String ledger) {
    int separator = ledger.indexOf(SEPARATOR);
    return separator < 0 ? Optional.empty() : Optional.of(ledger.substring(0, separator));
  }
}
