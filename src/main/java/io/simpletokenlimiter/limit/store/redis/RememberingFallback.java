package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
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
  private static final Limits WRITE_BACK_LIMITS =
      new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, Integer.MAX_VALUE);

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
  private final Map<String, AtomicLong> grantedInOutage = new ConcurrentHashMap<>();

  RememberingFallback(LimitStore memory, IntSupplier liveReplicas, Clock clock) {
    this.memory = memory;
    this.liveReplicas = liveReplicas;
    this.clock = clock;
  }

  LimitStore memory() {
    return memory;
  }

  Clock clock() {
    return clock;
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
          AtomicLong granted =
              grantedInOutage.computeIfAbsent(command.userId(), u -> new AtomicLong());
          long room =
              share.tokens() == Long.MAX_VALUE ? Long.MAX_VALUE : share.tokens() - granted.get();
          long completion =
              room == Long.MAX_VALUE ? request.maxCompletionPerChoice() : command.grantWithin(room);
          if (completion < request.minCompletionPerChoice()) {
            return Mono.just(rejected(command, share, Math.max(0, room)));
          }
          long upfront = command.unitsWith(completion);
          if (share.tokens() != Long.MAX_VALUE && granted.addAndGet(upfront) > share.tokens()) {
            granted.addAndGet(-upfront); // a concurrent admission took the room first
            return Mono.just(rejected(command, share, 0));
          }
          AdmitCommand within =
              new AdmitCommand(
                  command.userId(),
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
          return memory
              .admit(within)
              .doOnNext(
                  admission ->
                      granted.addAndGet(
                          admission instanceof Admission.Admitted admitted
                              ? admitted.reservedTokens() - upfront
                              : -upfront));
        });
  }

  /**
   * Writes what the outage admitted into {@code redis} (reservations, never less than what was
   * served), user by user; a user whose write fails keeps the tokens for the next try.
   */
  Mono<Void> writeBack(LimitStore redis, Duration timeout) {
    long nowMillis = clock.millis();
    return Flux.fromIterable(Map.copyOf(grantedInOutage).entrySet())
        .concatMap(
            entry -> {
              long tokens = entry.getValue().getAndSet(0);
              if (tokens <= 0) {
                // Only while still empty: another write-back may have given tokens back meanwhile.
                grantedInOutage.computeIfPresent(
                    entry.getKey(), (user, granted) -> granted.get() <= 0 ? null : granted);
                return Mono.empty();
              }
              String lease = "outage-" + nowMillis + "-" + entry.getKey().hashCode();
              return redis
                  .admit(
                      new AdmitCommand(
                          entry.getKey(),
                          lease,
                          ReservationRequest.fixed(0, 1, 1),
                          WRITE_BACK_LIMITS,
                          nowMillis,
                          timeout.toMillis()))
                  .then(redis.settle(entry.getKey(), lease, tokens, nowMillis))
                  .timeout(timeout)
                  .then()
                  .onErrorResume(
                      error -> {
                        // Into the map's count, which an empty entry's removal may have replaced.
                        grantedInOutage.compute(
                            entry.getKey(),
                            (user, granted) -> {
                              AtomicLong kept = granted == null ? new AtomicLong() : granted;
                              kept.addAndGet(tokens);
                              return kept;
                            });
                        log.warn(
                            "Could not write {} outage tokens of {} back to Redis: {}",
                            tokens,
                            entry.getKey(),
                            error.toString());
                        return Mono.empty();
                      });
            })
        .then();
  }

  /** Tokens admitted during outages and not yet written back to Redis. */
  long pendingWriteBack() {
    return grantedInOutage.values().stream().mapToLong(AtomicLong::get).sum();
  }

  private record Share(LimitType limitType, long limitTokens, long tokens) {}

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
