package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What this replica's outages granted, per user and per team, and its write-back to Redis once it
 * answers again. Every change of a count is one step of its map ({@code compute}), so that a
 * write-back taking a user's count never races an admission's change into a count no longer in the
 * map. Bounded by the users and teams an outage admitted.
 */
final class OutageGrants {

  private static final Logger log = LoggerFactory.getLogger(OutageGrants.class);

  /** Per user (ledger name), the units granted and not yet handed to a write-back. */
  private final Map<String, Long> grantedInOutage = new ConcurrentHashMap<>();

  /**
   * Per team, what this replica's outage granted its members: at most the team's share of its
   * limit. Not written back (the members' charges are, into the team's ledger too); forgotten once
   * an outage is all written back.
   */
  private final Map<String, Long> grantedToTeams = new ConcurrentHashMap<>();

  /**
   * Per user, the write-back sent whose answer never came: it may have been charged. Sent again
   * with the same id, Redis charges it at most once.
   */
  private final Map<String, Charge> unconfirmed = new ConcurrentHashMap<>();

  private record Charge(String id, long tokens) {}

  /**
   * What {@code user} (and their {@code team}) may still be granted within their shares; a charge
   * whose write-back is unconfirmed may not be in what Redis last left, so it counts too. {@link
   * Long#MAX_VALUE}: no limit.
   */
  long room(String user, Optional<String> team, long userShare, long teamShare) {
    long userRoom = roomWithin(userLimit(user, userShare), grantedInOutage.getOrDefault(user, 0L));
    long teamRoom =
        roomWithin(teamShare, team.map(t -> grantedToTeams.getOrDefault(t, 0L)).orElse(0L));
    return Math.min(userRoom, teamRoom);
  }

  /** Counts {@code tokens} for the user and the team if both stay within their shares. */
  boolean reserve(String user, Optional<String> team, long tokens, long userShare, long teamShare) {
    if (!reserve(grantedInOutage, user, tokens, userLimit(user, userShare))) {
      return false;
    }
    if (team.isPresent() && !reserve(grantedToTeams, team.get(), tokens, teamShare)) {
      add(grantedInOutage, user, -tokens);
      return false;
    }
    return true;
  }

  private long userLimit(String user, long userShare) {
    return userShare == Long.MAX_VALUE ? Long.MAX_VALUE : userShare - unconfirmed(user);
  }

  private static long roomWithin(long limit, long granted) {
    return limit == Long.MAX_VALUE ? Long.MAX_VALUE : limit - granted;
  }

  /** Gives back {@code tokens} of a reservation this replica's memory did not grant. */
  void giveBack(String user, Optional<String> team, long tokens) {
    add(grantedInOutage, user, -tokens);
    team.ifPresent(name -> add(grantedToTeams, name, -tokens));
  }

  /**
   * Counts {@code tokens} as granted to {@code key} if that keeps them within {@code limit}. In the
   * map's own step for the key, as every change of a count is: a write-back that takes the user's
   * count meanwhile never leaves a change behind on a count no longer in the map.
   */
  private static boolean reserve(Map<String, Long> counts, String key, long tokens, long limit) {
    boolean[] reserved = {false};
    counts.compute(
        key,
        (k, granted) -> {
          long held = granted == null ? 0 : granted;
          if (limit != Long.MAX_VALUE && held + tokens > limit) {
            return granted;
          }
          reserved[0] = true;
          return held + tokens;
        });
    return reserved[0];
  }

  /**
   * Adds {@code tokens} (fewer than reserved: negative) to what {@code key} was granted. A count
   * that ends at zero or below leaves the map: below zero, a write-back already took the tokens the
   * admission then gave back, and Redis counts them, more than was served, never less.
   */
  private static void add(Map<String, Long> counts, String key, long tokens) {
    counts.compute(
        key,
        (k, granted) -> {
          long held = (granted == null ? 0 : granted) + tokens;
          return held > 0 ? held : null;
        });
  }

  /**
   * Writes what the outage admitted into {@code redis} (reservations, never less than what was
   * served), user by user, one charge each with an id of its own: a user whose write fails keeps it
   * for the next try, which sends the same charge again (Redis charges an id once: a try that timed
   * out after Redis applied it is not counted twice), then what was admitted since. One warning per
   * pass, however many users failed: a Redis that refuses them all would else log one line per user
   * and try.
   */
  Mono<Void> writeBack(LimitStore redis, long nowMillis, Duration timeout) {
    WriteBackFailures failures = new WriteBackFailures();
    Set<String> users = new LinkedHashSet<>(unconfirmed.keySet());
    users.addAll(grantedInOutage.keySet());
    return Flux.fromIterable(users)
        .concatMap(
            user ->
                send(redis, user, unconfirmed.get(user), nowMillis, timeout, failures)
                    .filter(sent -> sent)
                    .flatMap(
                        sent -> send(redis, user, newCharge(user), nowMillis, timeout, failures)))
        .then(
            Mono.fromRunnable(
                () -> {
                  failures.log();
                  if (pending() == 0) {
                    grantedToTeams.clear();
                  }
                }));
  }

  /** The user's count, taken out of the map as an unconfirmed charge; null if none (or one is). */
  private Charge newCharge(String user) {
    Long tokens = grantedInOutage.remove(user);
    if (tokens == null) {
      return null;
    }
    Charge charge = new Charge(UUID.randomUUID().toString(), tokens);
    if (unconfirmed.putIfAbsent(user, charge) != null) {
      add(grantedInOutage, user, tokens); // an overlapping pass has a charge out: the next sends
      return null;
    }
    return charge;
  }

  /** True when {@code charge} is confirmed (or there is none); false if it stays unconfirmed. */
  private Mono<Boolean> send(
      LimitStore redis,
      String user,
      Charge charge,
      long nowMillis,
      Duration timeout,
      WriteBackFailures failures) {
    if (charge == null) {
      return Mono.just(true);
    }
    return redis
        .chargeOnce(user, charge.id(), charge.tokens(), nowMillis)
        .timeout(timeout)
        .map(
            charged -> {
              unconfirmed.remove(user, charge);
              return true;
            })
        .onErrorResume(
            error -> {
              failures.add(charge.tokens(), error);
              log.debug(
                  "Could not write {} outage tokens of {} back to Redis: {}",
                  charge.tokens(),
                  user,
                  error.toString());
              return Mono.just(false);
            });
  }

  /** What one write-back pass could not write, for its one warning. */
  private static final class WriteBackFailures {
    private int users;
    private long tokens;
    private Throwable first;

    // One pass runs its users one after another (concatMap): never two of these at once.
    void add(long userTokens, Throwable error) {
      users++;
      tokens += userTokens;
      first = first == null ? error : first;
    }

    void log() {
      if (users > 0) {
        log.warn(
            "Could not write {} outage tokens of {} users back to Redis, kept for the next try;"
                + " the first failure: {}",
            tokens,
            users,
            first.toString());
      }
    }
  }

  /** Tokens admitted during outages and not yet written back to Redis for sure. */
  long pending() {
    return grantedInOutage.values().stream().mapToLong(Long::longValue).sum()
        + unconfirmed.values().stream().mapToLong(Charge::tokens).sum();
  }

  private long unconfirmed(String user) {
    Charge charge = unconfirmed.get(user);
    return charge == null ? 0 : charge.tokens();
  }
}
