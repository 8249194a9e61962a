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
import java.util.Map;
import java.util.Optional;
import java.util.function.IntSupplier;
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
  private final OutageGrants grants = new OutageGrants();

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
          int replicas = Math.max(1, liveReplicas.getAsInt());
          Share share = shareOf(command, replicas);
          ReservationRequest request = command.request();
          String user = command.userId();
          Optional<String> team = command.team().map(Team::name);
          long teamShare = teamShare(command, replicas);
          long room = grants.room(user, team, share.tokens(), teamShare);
          long completion =
              room == Long.MAX_VALUE ? request.maxCompletionPerChoice() : command.grantWithin(room);
          if (completion < request.minCompletionPerChoice()) {
            return Mono.just(rejected(command, share, Math.max(0, room)));
          }
          long upfront = command.unitsWith(completion);
          if (!grants.reserve(user, team, upfront, share.tokens(), teamShare)) {
            return Mono.just(rejected(command, share, 0)); // a concurrent admission took the room
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
                      grants.giveBack(
                          user,
                          team,
                          admission instanceof Admission.Admitted admitted
                              ? upfront - admitted.reservedTokens()
                              : upfront))
              .doOnError(error -> grants.giveBack(user, team, upfront));
        });
  }

  /**
   * Writes what the outage admitted into {@code redis}, at most once per user's charge: {@link
   * OutageGrants#writeBack}.
   */
  Mono<Void> writeBack(LimitStore redis, Duration timeout) {
    return grants.writeBack(redis, clock.millis(), timeout);
  }

  /** Tokens admitted during outages and not yet written back to Redis for sure. */
  long pendingWriteBack() {
    return grants.pending();
  }

  private record Share(LimitType limitType, long limitTokens, long tokens) {}

  /**
   * A team member's team may be granted its tightest window's limit ÷ live replicas here, whatever
   * Redis last left it (replies carry the room of the tighter of user and team only): all replicas
   * together at most the team's limit, on top of what Redis counted.
   */
  private static long teamShare(AdmitCommand command, int replicas) {
    return command
        .team()
        .map(team -> ofWholeLimit(team.limits(), replicas).tokens())
        .orElse(Long.MAX_VALUE);
  }

  private Share shareOf(AdmitCommand command, int replicas) {
    LastSeen last;
    synchronized (seen) {
      last = seen.get(command.userId());
    }
    if (last != null && command.nowMillis() - last.atMillis() < REMEMBERED_FOR_MILLIS) {
      return last.limitTokens() == Limits.UNLIMITED
          ? new Share(last.tightest(), Limits.UNLIMITED, Long.MAX_VALUE)
          : new Share(last.tightest(), last.limitTokens(), last.remainingTokens() / replicas);
    }
    return ofWholeLimit(command.limits(), replicas);
  }

  /** The tightest window's limit ÷ replicas: the share of a user never seen. */
  private static Share ofWholeLimit(Limits limits, int replicas) {
    Share tightest = new Share(LimitType.MINUTE, Limits.UNLIMITED, Long.MAX_VALUE);
    for (Window window : Window.values()) {
      long limit = limits.tokens(window);
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
