package io.simpletokenlimiter.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Admission.Rejected;
import io.simpletokenlimiter.limit.Admission.TooLarge;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.testing.MutableClock;
import java.time.Duration;
import java.util.Map;
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
  private final StrictTokenLimiter limiter =
      new StrictTokenLimiter(store, limits, clock, TTL, LIFETIME);

  @Test
  void aRequestLargerThanAWholeWindowIsTooLargeNotRejected() {
    Admission admission = limiter.admit("alice", ReservationRequest.fixed(900, 1, 101)).block();

    assertThat(admission).isEqualTo(new TooLarge(LimitType.MINUTE, 1_000, 1_001));
    assertThat(limiter.usage("alice").block()).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void aFlexibleRequestIsTooLargeOnlyWhenItsMinimumCannotFit() {
    assertThat(limiter.admit("alice", new ReservationRequest(990, 1, 16, 1_058)).block())
        .isEqualTo(new TooLarge(LimitType.MINUTE, 1_000, 1_006));
    assertThat(limiter.admit("alice", new ReservationRequest(900, 1, 16, 1_148)).block())
        .isInstanceOf(Admitted.class);
  }

  @Test
  void perUserLimitsReplaceTheDefaults() {
    Admission vip = limiter.admit("vip", ReservationRequest.fixed(20_000, 1, 20_000)).block();
    assertThat(vip).isInstanceOf(Admitted.class);

    assertThat(limiter.admit("vip", ReservationRequest.fixed(5_000, 1, 5_001)).block())
        .isInstanceOf(Rejected.class)
        .extracting(a -> ((Rejected) a).limitType())
        .isEqualTo(LimitType.HOUR);
  }

  @Test
  void settleReturnsUnusedTokensAtOnce() {
    Admitted admitted =
        (Admitted) limiter.admit("alice", ReservationRequest.fixed(100, 1, 800)).block();
    assertThat(limiter.usage("alice").block().minute()).isEqualTo(900);

    limiter.settle(admitted, 250).block();

    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(250, 250, 250, 0));
    assertThat(limiter.inFlightCount()).isZero();
  }

  @Test
  void renewingKeepsALongRequestInFlightPastTheLeaseTtl() {
    Admitted admitted =
        (Admitted) limiter.admit("alice", ReservationRequest.fixed(10, 1, 10)).block();

    for (int i = 0; i < 10; i++) {
      clock.advance(Duration.ofSeconds(10));
      limiter.renewLeases().block();
    }

    assertThat(limiter.usage("alice").block().inFlight()).isEqualTo(1);
    limiter.settle(admitted, 15).block();
    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(15, 15, 15, 0));
  }

  @Test
  void aLeaseThatExpiredIsForgottenByTheRenewer() {
    limiter.admit("alice", ReservationRequest.fixed(10, 1, 10)).block();
    clock.advance(TTL);

    limiter.renewLeases().block();

    assertThat(limiter.inFlightCount()).isZero();
    assertThat(limiter.usage("alice").block()).isEqualTo(new UsageSnapshot(20, 20, 20, 0));
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
        new StrictTokenLimiter(failing, limits, clock, TTL, LIFETIME);
    Admitted admitted =
        (Admitted) limiterOnFailingStore.admit("alice", ReservationRequest.fixed(1, 1, 1)).block();

    limiterOnFailingStore.settle(admitted, 2).block();

    assertThat(limiterOnFailingStore.inFlightCount()).isZero();
  }

  @Test
  void anAdmissionWhoseAnswerNeverArrivesReleasesItsLease() {
    Sinks.Empty<Void> never = Sinks.empty();
    LimitStore slowToAnswer =
        new DelegatingStore(store) {
          @Override
          public Mono<Admission> admit(AdmitCommand command) {
            return store.admit(command).delayUntil(recorded -> never.asMono());
          }
        };
    StrictTokenLimiter limiterOnSlowStore =
        new StrictTokenLimiter(slowToAnswer, limits, clock, TTL, LIFETIME);

    Disposable pending =
        limiterOnSlowStore.admit("alice", ReservationRequest.fixed(100, 1, 300)).subscribe();
    assertThat(store.usage("alice", clock.millis()).block().inFlight()).isEqualTo(1);
    pending.dispose();

    assertThat(store.usage("alice", clock.millis()).block()).isEqualTo(UsageSnapshot.EMPTY);
    assertThat(limiterOnSlowStore.inFlightCount()).isZero();
  }

  @Test
  void anAdmissionThatFailsAfterTheStoreRecordedItReleasesItsLease() {
    LimitStore timesOutAfterRecording =
        new DelegatingStore(store) {
          @Override
          public Mono<Admission> admit(AdmitCommand command) {
            return store
                .admit(command)
                .then(Mono.error(new StoreUnavailableException("timed out", null)));
          }
        };
    StrictTokenLimiter limiterOnSlowStore =
        new StrictTokenLimiter(timesOutAfterRecording, limits, clock, TTL, LIFETIME);

    assertThatThrownBy(
            () -> limiterOnSlowStore.admit("alice", ReservationRequest.fixed(100, 1, 300)).block())
        .isInstanceOf(StoreUnavailableException.class);

    assertThat(store.usage("alice", clock.millis()).block()).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void aLeaseNeverSettledStopsBeingRenewedAfterItsMaximumLifetime() {
    limiter.admit("alice", ReservationRequest.fixed(10, 1, 10)).block();

    for (int i = 0; i < 190; i++) {
      clock.advance(Duration.ofSeconds(10));
      limiter.renewLeases().block();
    }

    assertThat(limiter.inFlightCount()).isZero();
    assertThat(limiter.usage("alice").block().inFlight()).isZero();
  }

  /** A store that forwards every call; tests override what they need to break. */
  private static class DelegatingStore implements LimitStore {
    private final LimitStore delegate;

    DelegatingStore(LimitStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public Mono<Admission> admit(AdmitCommand command) {
      return delegate.admit(command);
    }

    @Override
    public Mono<Boolean> settle(String user, String lease, long tokens, long now) {
      return delegate.settle(user, lease, tokens, now);
    }

    @Override
    public Mono<Boolean> renew(String user, String lease, long now, long ttl) {
      return delegate.renew(user, lease, now, ttl);
    }

    @Override
    public Mono<UsageSnapshot> usage(String user, long now) {
      return delegate.usage(user, now);
    }
  }
}
