package io.simpletokenlimiter.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.simpletokenlimiter.limit.Admission.TooLarge;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.testing.MutableClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

class StrictTokenLimiterTest {

  private static final Duration TTL = Duration.ofSeconds(30);
  private static final Duration LIFETIME = Duration.ofMinutes(30);

  private final MutableClock clock = new MutableClock(1_800_000_000_000L);
  private final MemoryLimitStore store = new MemoryLimitStore();
  private final UserLimits limits =
      new UserLimits(
          new Limits(1_000, 10_000, 100_000, 2),
          Map.of("vip", new Limits(Limits.UNLIMITED, 50_000, Limits.UNLIMITED, 10)));
  private final RecordingEvents events = new RecordingEvents();
  private final StrictTokenLimiter limiter =
      new StrictTokenLimiter(store, limits, clock, TTL, LIFETIME, events);

  @Test
  void aRequestLargerThanAWholeWindowIsTooLargeNotRejected() {
    assertThatThrownBy(() -> admit("alice", ReservationRequest.fixed(900, 1, 101)))
        .isInstanceOfSatisfying(
            RequestTooLargeException.class,
            e -> assertThat(e.tooLarge()).isEqualTo(new TooLarge(LimitType.MINUTE, 1_000, 1_001)));
    assertThat(limiter.usage("alice").block()).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void aFlexibleRequestIsTooLargeOnlyWhenItsMinimumCannotFit() {
    assertThatThrownBy(() -> admit("alice", new ReservationRequest(990, 1, 16, 1_058)))
        .isInstanceOfSatisfying(
            RequestTooLargeException.class,
            e -> assertThat(e.tooLarge()).isEqualTo(new TooLarge(LimitType.MINUTE, 1_000, 1_006)));
    assertThat(admit("alice", new ReservationRequest(900, 1, 16, 1_148)).reservedTokens())
        .isEqualTo(1_000);
  }

  @Test
  void perUserLimitsReplaceTheDefaults() {
    assertThat(admit("vip", ReservationRequest.fixed(20_000, 1, 20_000)).reservedTokens())
        .isEqualTo(40_000);

    assertThatThrownBy(() -> admit("vip", ReservationRequest.fixed(5_000, 1, 5_001)))
        .isInstanceOfSatisfying(
            RateLimitedException.class,
            e -> assertThat(e.rejection().limitType()).isEqualTo(LimitType.HOUR));
  }

  @Test
  void settleReturnsUnusedTokensAtOnce() {
    Lease lease = admit("alice", ReservationRequest.fixed(100, 1, 800));
    assertThat(limiter.usage("alice").block().minute()).isEqualTo(900);
    assertThat(limiter.inFlight()).isEqualTo(1);

    lease.settle(new TokenUsage(100, 150)).block();

    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(250, 250, 250, 250, 0));
    assertThat(limiter.inFlight()).isZero();
    assertThat(events.settled).containsExactly(new TokenUsage(100, 150));
  }

  @Test
  void onlyTheFirstSettleCounts() {
    Lease lease = admit("alice", ReservationRequest.fixed(100, 1, 800));

    lease.settle(new TokenUsage(100, 50)).block();
    lease.settle(new TokenUsage(100, 700)).block();
    lease.release().block();
    lease.abandon().block();

    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(150, 150, 150, 150, 0));
    assertThat(events.settled).hasSize(1);
  }

  @Test
  void aReportLargerThanTheReservationIsChargedOnlyTheReservation() {
    Lease lease = admit("alice", ReservationRequest.fixed(10, 1, 50));

    lease.settle(new TokenUsage(10, 1_000_000_000_000L)).block();

    assertThat(limiter.usage("alice").block().minute()).isEqualTo(60);
    assertThat(events.overReported).containsExactly(new TokenUsage(10, 1_000_000_000_000L));
    assertThat(events.settled).containsExactly(new TokenUsage(10, 50));
  }

  @Test
  void theReservationKeepsCountingUntilASlowSettleLands() {
    Sinks.Empty<Void> storeAnswers = Sinks.empty();
    LimitStore slowToSettle =
        new DelegatingStore(store) {
          @Override
          public Mono<Boolean> settle(String user, String lease, long tokens, long now) {
            return storeAnswers.asMono().then(store.settle(user, lease, tokens, now));
          }
        };
    StrictTokenLimiter limiterOnSlowStore =
        new StrictTokenLimiter(slowToSettle, limits, clock, TTL, LIFETIME, events);
    Lease lease =
        limiterOnSlowStore
            .admit("alice", ReservationRequest.fixed(100, 1, 800), LeaseScope.UNBOUNDED)
            .block();

    Mono<Void> settling = lease.settle(new TokenUsage(100, 20));

    // Not landed yet: the whole reservation still counts, so nothing else can take its room.
    assertThat(limiterOnSlowStore.usage("alice").block().minute()).isEqualTo(900);
    assertThatThrownBy(
            () ->
                limiterOnSlowStore
                    .admit("alice", ReservationRequest.fixed(100, 1, 1), LeaseScope.UNBOUNDED)
                    .block())
        .isInstanceOf(RateLimitedException.class);
    storeAnswers.tryEmitEmpty();
    settling.block();
    assertThat(limiterOnSlowStore.usage("alice").block().minute()).isEqualTo(120);
  }

  @Test
  void aLeaseWhoseScopeClosesIsAbandonedWithWhatItCostSoFar() {
    TestScope scope = new TestScope();
    Lease lease = limiter.admit("alice", ReservationRequest.fixed(100, 1, 400), scope).block();
    lease.chargeIfAbandoned(() -> new TokenUsage(100, 0));

    scope.close();

    assertThat(lease.isSettled()).isTrue();
    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(100, 100, 100, 100, 0));
    assertThat(limiter.inFlight()).isZero();
  }

  @Test
  void workStartsOnlyOnALeaseStillOpenAndAnAbandonAfterwardsChargesIt() {
    TestScope scope = new TestScope();
    Lease lease = limiter.admit("alice", ReservationRequest.fixed(100, 1, 400), scope).block();

    assertThat(lease.chargeIfAbandonedUnlessEnded(() -> new TokenUsage(100, 400))).isTrue();
    scope.close();

    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(500, 500, 500, 500, 0));
  }

  @Test
  void workDoesNotStartOnALeaseItsClientAlreadyLeft() {
    TestScope scope = new TestScope();
    Lease lease = limiter.admit("alice", ReservationRequest.fixed(100, 1, 400), scope).block();
    scope.close();

    assertThat(lease.chargeIfAbandonedUnlessEnded(() -> new TokenUsage(100, 400))).isFalse();
    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(0, 0, 0, 0, 0));
  }

  @Test
  void aLeaseAdmittedAfterItsScopeClosedIsReleasedAtOnce() {
    TestScope scope = new TestScope();
    scope.close();

    Lease lease = limiter.admit("alice", ReservationRequest.fixed(100, 1, 400), scope).block();

    assertThat(lease.isSettled()).isTrue();
    assertThat(limiter.usage("alice").block()).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void theRenewalReleasesALeaseWhoseScopeEndedWithoutASettle() {
    TestScope scope = new TestScope();
    Lease lease = limiter.admit("alice", ReservationRequest.fixed(100, 1, 400), scope).block();
    lease.chargeIfAbandoned(() -> new TokenUsage(100, 400));
    scope.closeWithoutRunningActions();

    limiter.renewLeases().block();

    assertThat(limiter.inFlight()).isZero();
    assertThat(events.safetyNetReleases).isEqualTo(1);
    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(500, 500, 500, 500, 0));
  }

  @Test
  void renewingKeepsALongRequestInFlightPastTheLeaseTtl() {
    Lease lease = admit("alice", ReservationRequest.fixed(10, 1, 10));

    for (int i = 0; i < 10; i++) {
      clock.advance(Duration.ofSeconds(10));
      limiter.renewLeases().block();
    }

    assertThat(limiter.usage("alice").block().inFlight()).isEqualTo(1);
    lease.settle(new TokenUsage(10, 5)).block();
    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(15, 15, 15, 15, 0));
    assertThat(events.safetyNetReleases).isZero();
  }

  @Test
  void aLeaseThatExpiredIsForgottenByTheRenewer() {
    admit("alice", ReservationRequest.fixed(10, 1, 10));
    clock.advance(TTL);

    limiter.renewLeases().block();

    assertThat(limiter.inFlight()).isZero();
    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(20, 20, 20, 20, 0));
  }

  @Test
  void limitsAreReadPerUser() {
    assertThat(limiter.limitsFor("vip").tokensPerMinute()).isEqualTo(Limits.UNLIMITED);
    assertThat(limiter.limitsFor("anyone").tokensPerMinute()).isEqualTo(1_000);
  }

  @Test
  void aStoreThatCannotSettleDoesNotFailTheAnsweredRequest() {
    LimitStore failing =
        new DelegatingStore(store) {
          @Override
          public Mono<Boolean> settle(String user, String lease, long tokens, long now) {
            return Mono.error(new StoreUnavailableException("redis down", null));
          }
        };
    StrictTokenLimiter limiterOnFailingStore =
        new StrictTokenLimiter(failing, limits, clock, TTL, LIFETIME, events);
    Lease lease =
        limiterOnFailingStore
            .admit("alice", ReservationRequest.fixed(1, 1, 1), LeaseScope.UNBOUNDED)
            .block();

    lease.settle(new TokenUsage(1, 1)).block();

    assertThat(limiterOnFailingStore.inFlight()).isZero();
  }

  @Test
  void aCallerThatLeavesBeforeTheStoreAnswersHasTheLeaseReleasedWhenTheAnswerArrives() {
    Sinks.Empty<Void> answer = Sinks.empty();
    LimitStore slowToAnswer =
        new DelegatingStore(store) {
          @Override
          public Mono<Admission> admit(AdmitCommand command) {
            return store.admit(command).delayUntil(recorded -> answer.asMono());
          }
        };
    StrictTokenLimiter limiterOnSlowStore =
        new StrictTokenLimiter(slowToAnswer, limits, clock, TTL, LIFETIME, events);

    Disposable pending =
        limiterOnSlowStore
            .admit("alice", ReservationRequest.fixed(100, 1, 300), LeaseScope.UNBOUNDED)
            .subscribe();
    assertThat(store.usage("alice", clock.millis()).block().inFlight()).isEqualTo(1);
    pending.dispose();
    answer.tryEmitEmpty();

    assertThat(store.usage("alice", clock.millis()).block()).isEqualTo(UsageSnapshot.EMPTY);
    assertThat(limiterOnSlowStore.inFlight()).isZero();
  }

  @Test
  void aSettleThatTimesOutIsTriedAgainAndLands() {
    java.util.concurrent.atomic.AtomicInteger failures =
        new java.util.concurrent.atomic.AtomicInteger(2);
    LimitStore flaky =
        new DelegatingStore(store) {
          @Override
          public Mono<Boolean> settle(String user, String lease, long tokens, long now) {
            return failures.getAndDecrement() > 0
                ? Mono.error(new StoreUnavailableException("timed out", null))
                : super.settle(user, lease, tokens, now);
          }
        };
    StrictTokenLimiter limiterOnFlakyStore =
        new StrictTokenLimiter(flaky, limits, clock, TTL, LIFETIME, events);
    Lease lease =
        limiterOnFlakyStore
            .admit("alice", ReservationRequest.fixed(100, 1, 300), LeaseScope.UNBOUNDED)
            .block();

    lease.settle(new TokenUsage(100, 20)).block();

    assertThat(store.usage("alice", clock.millis()).block())
        .isEqualTo(new UsageSnapshot(120, 120, 120, 120, 0));
  }

  @Test
  void aLeaseNeverSettledStopsBeingRenewedAfterItsMaximumLifetime() {
    admit("alice", ReservationRequest.fixed(10, 1, 10));

    for (int i = 0; i < 190; i++) {
      clock.advance(Duration.ofSeconds(10));
      limiter.renewLeases().block();
    }

    assertThat(limiter.inFlight()).isZero();
    assertThat(limiter.usage("alice").block().inFlight()).isZero();
  }

  private Lease admit(String user, ReservationRequest request) {
    return limiter.admit(user, request, LeaseScope.UNBOUNDED).block();
  }

  /** A scope the test closes. */
  private static final class TestScope implements LeaseScope {
    private final List<Runnable> actions = new ArrayList<>();
    private boolean closed;

    @Override
    public boolean isOpen() {
      return !closed;
    }

    @Override
    public void onClose(Runnable action) {
      if (closed) {
        action.run();
      } else {
        actions.add(action);
      }
    }

    void close() {
      closed = true;
      actions.forEach(Runnable::run);
    }

    /** As if the exchange ended but its close hook was lost: what the renewal must catch. */
    void closeWithoutRunningActions() {
      closed = true;
    }
  }

  private static final class RecordingEvents implements LeaseEvents {
    final List<TokenUsage> settled = new CopyOnWriteArrayList<>();
    final List<TokenUsage> overReported = new CopyOnWriteArrayList<>();
    volatile int safetyNetReleases;

    @Override
    public void settled(Lease lease, TokenUsage charged) {
      settled.add(charged);
    }

    @Override
    public void overReported(Lease lease, TokenUsage reported) {
      overReported.add(reported);
    }

    @Override
    public void releasedBySafetyNet(Lease lease) {
      safetyNetReleases++;
    }
  }

  /** A store that forwards every call; tests override what they need to break. */
  private static class DelegatingStore implements LimitStore {
    private final LimitStore delegate;

    DelegatingStore(LimitStore delegate) {
      this.delegate = delegate;
    }

    /** Leases are settled and renewed through this store, so that overrides apply to them. */
    @Override
    public Mono<Admission> admit(AdmitCommand command) {
      return delegate
          .admit(command)
          .map(
              admission ->
                  admission instanceof Admission.Admitted admitted
                      ? admitted.heldBy(this)
                      : admission);
    }

    @Override
    public Mono<Boolean> settle(String user, String lease, long tokens, long now) {
      return delegate.settle(user, lease, tokens, now);
    }

    @Override
    public Mono<Boolean> chargeOnce(String user, String chargeId, long units, long now) {
      return delegate.chargeOnce(user, chargeId, units, now);
    }

    @Override
    public Mono<Boolean> renew(String user, String lease, long now, long ttl) {
      return delegate.renew(user, lease, now, ttl);
    }

    @Override
    public Mono<UsageSnapshot> usage(String user, long now) {
      return delegate.usage(user, now);
    }

    @Override
    public Mono<UsageSnapshot> teamUsage(String team, long now) {
      return delegate.teamUsage(team, now);
    }

    @Override
    public Mono<Void> carryOver(String from, String to, long now) {
      return delegate.carryOver(from, to, now);
    }

    @Override
    public Mono<Void> forget(String user, long now) {
      return delegate.forget(user, now);
    }

    @Override
    public Mono<java.util.List<io.simpletokenlimiter.limit.UserUsage>> top(
        io.simpletokenlimiter.limit.Window window, int count, long now) {
      return delegate.top(window, count, now);
    }
  }
}
