package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * This replica's decisions while Redis is down, bounded by what Redis last said: each admission
 * Redis answered leaves the user's remaining room in their tightest window, and during an outage
 * this replica grants a user at most its share of that room (room ÷ live replicas), on top of its
 * own memory's limits. A user Redis never answered for here gets a share of their whole limit. What
 * the outage admitted is written back to Redis once it answers again, so it still counts.
 *
 * <p>Bounded: at most {@link #MAX_REMEMBERED} users are remembered (least recently seen dropped
 * first: they count as never seen), each for a day at most.
 */
final class RememberingFallback {

  static final int MAX_REMEMBERED = 100_000;

  private static final Logger log = LoggerFactory.getLogger(RememberingFallback.class);
  private static final long REMEMBERED_FOR_MILLIS = Window.DAY.lengthMillis();

  private record LastSeen(
      LimitType tightest, long limitTokens, long remainingTokens, long atMillis) {}

  private final LimitStore memory;
  private final IntSupplier liveReplicas;
  private final Clock clock;
  private final Map<String, LastSeen> seen =
      new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, LastSeen> eldest) {
          return size() > MAX_REMEMBERED;
        }
      };
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

  RememberingFallback(LimitStore memory, IntSupplier liveReplicas, Clock clock) {
    this.memory = memory;
    this.liveReplicas = liveReplicas;
    this.clock = clock;
  }

  LimitStore memory() {
    return memory;
  }

  /** Remembers the room Redis left the user after {@code admission}. */
  void observe(AdmitCommand command, Admission admission) {
    Quota quota;
    if (admission instanceof Admission.Admitted admitted) {
      quota = admitted.quota();
    } else if (admission instanceof Admission.Rejected rejected) {
      quota = rejected.quota();
    } else {
      return;
    }
    LastSeen last =
        new LastSeen(
            quota.tightest(), quota.limitTokens(), quota.remainingTokens(), command.nowMillis());
    synchronized (seen) {
      seen.put(command.userId(), last);
    }
  }

  /** Decides {@code command} in this replica's memory, within the user's share of the room. */
  Mono<Admission> admit(AdmitCommand command) {
    return Mono.defer(
        () -> {
          Share share = shareOf(command);
          ReservationRequest request = command.request();
          String user = command.userId();
          // What the user may still be granted here; a charge whose write-back is unconfirmed
          // may not be in what Redis last left.
          long limit =
              share.tokens() == Long.MAX_VALUE
                  ? Long.MAX_VALUE
                  : share.tokens() - unconfirmed(user);
          Optional<String> team = command.team().map(Team::name);
          long teamLimit = teamShare(command);
          long room =
              Math.min(
                  roomWithin(limit, grantedInOutage.getOrDefault(user, 0L)),
                  roomWithin(
                      teamLimit, team.map(t -> grantedToTeams.getOrDefault(t, 0L)).orElse(0L)));
          long completion =
              room == Long.MAX_VALUE ? request.maxCompletionPerChoice() : command.grantWithin(room);
          if (completion < request.minCompletionPerChoice()) {
            return Mono.just(rejected(command, share, Math.max(0, room)));
          }
          long upfront = command.unitsWith(completion);
          // A concurrent admission may have taken the room first.
          if (!reserve(grantedInOutage, user, upfront, limit)) {
            return Mono.just(rejected(command, share, 0));
          }
          if (team.isPresent() && !reserve(grantedToTeams, team.get(), upfront, teamLimit)) {
            add(grantedInOutage, user, -upfront);
            return Mono.just(rejected(command, share, 0));
          }
          AdmitCommand within =
              new AdmitCommand(
                  user,
                  command.leaseId(),
                  new ReservationRequest(
                      request.promptTokens(),
                      request.choices(),
                      request.minCompletionPerChoice(),
                      completion),
                  command.limits(),
                  command.nowMillis(),
                  command.leaseTtlMillis(),
                  command.weights(),
                  command.team());
          // What memory did not grant is given back: a refusal, or a failure (memory full: 503)
          // that served nothing and must not be written back as if it had.
          return memory
              .admit(within)
              .doOnNext(
                  admission ->
                      giveBack(
                          user,
                          team,
                          admission instanceof Admission.Admitted admitted
                              ? upfront - admitted.reservedTokens()
                              : upfront))
              .doOnError(error -> giveBack(user, team, upfront));
        });
  }

  private static long roomWithin(long limit, long granted) {
    return limit == Long.MAX_VALUE ? Long.MAX_VALUE : limit - granted;
  }

  private void giveBack(String user, Optional<String> team, long tokens) {
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
  Mono<Void> writeBack(LimitStore redis, Duration timeout) {
    long nowMillis = clock.millis();
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
                  if (pendingWriteBack() == 0) {
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
  long pendingWriteBack() {
    return grantedInOutage.values().stream().mapToLong(Long::longValue).sum()
        + unconfirmed.values().stream().mapToLong(Charge::tokens).sum();
  }

  private long unconfirmed(String user) {
    Charge charge = unconfirmed.get(user);
    return charge == null ? 0 : charge.tokens();
  }

  private record Share(LimitType limitType, long limitTokens, long tokens) {}

  /**
   * A team member's team may be granted its tightest window's limit ÷ live replicas here, whatever
   * Redis last left it (replies carry the room of the tighter of user and team only): all replicas
   * together at most the team's limit, on top of what Redis counted.
   */
  private long teamShare(AdmitCommand command) {
    int replicas = Math.max(1, liveReplicas.getAsInt());
    long least = Long.MAX_VALUE;
    for (Window window : Window.values()) {
      long limit =
          command.team().map(team -> team.limits().tokens(window)).orElse(Limits.UNLIMITED);
      if (limit != Limits.UNLIMITED) {
        least = Math.min(least, limit / replicas);
      }
    }
    return least;
  }

  private Share shareOf(AdmitCommand command) {
    int replicas = Math.max(1, liveReplicas.getAsInt());
    LastSeen last;
    synchronized (seen) {
      last = seen.get(command.userId());
    }
    if (last != null && command.nowMillis() - last.atMillis() < REMEMBERED_FOR_MILLIS) {
      return last.limitTokens() == Limits.UNLIMITED
          ? new Share(last.tightest(), Limits.UNLIMITED, Long.MAX_VALUE)
          : new Share(last.tightest(), last.limitTokens(), last.remainingTokens() / replicas);
    }
    Share tightest = new Share(LimitType.MINUTE, Limits.UNLIMITED, Long.MAX_VALUE);
    for (Window window : Window.values()) {
      long limit = command.limits().tokens(window);
      if (limit != Limits.UNLIMITED && limit / replicas < tightest.tokens()) {
        tightest = new Share(window.limitType(), limit, limit / replicas);
      }
    }
    return tightest;
  }

  private static Admission rejected(AdmitCommand command, Share share, long remaining) {
    return new Admission.Rejected(
        share.limitType(),
        RetryHints.SHORT_RETRY_MILLIS,
        new Quota(
            share.limitType(),
            share.limitTokens(),
            remaining,
            0,
            command.limits().maxConcurrent(),
            0));
  }
}
