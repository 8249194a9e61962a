package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Admission.Rejected;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/**
 * The Lua scripts against a real Redis, driven by a fake clock: what {@code LimitStoreContract}
 * leaves open (whole quotas, when an expired lease is charged, clock skew) and what only Redis has
 * (key expiry, pruning, integer formatting of large timestamps).
 */
@Timeout(60)
abstract class RedisLimitStoreScenarios {

  /** A realistic epoch, so that bucket indexes and expiries are as large as in production. */
  static final long T0 = 1_700_000_000_000L;

  static final long TTL = 30_000;
  static final Limits LIMITS = new Limits(1_000, 10_000, 100_000, 2);
  static final Duration BLOCK = Duration.ofSeconds(10);

  static LettuceConnectionFactory connections;

  RedisLimitStore store;
  String user;
  AtomicInteger leases = new AtomicInteger();

  @BeforeEach
  void newUser() {
    store = new RedisLimitStore(connections);
    user = "user-" + UUID.randomUUID();
  }

  @AfterAll
  static void closeConnections() {
    connections.destroy();
  }

  /** Runs a raw command on the node that holds {@code key}. */
  abstract Object call(String key, Object... command);

  // --- admission -------------------------------------------------------------------------

  @Test
  void firstRequestGetsItsWholeBudgetAndTheMinuteIsTightest() {
    Admitted admitted = admitted(ReservationRequest.fixed(100, 1, 200), T0);

    assertThat(admitted.userId()).isEqualTo(user);
    assertThat(admitted.reservedTokens()).isEqualTo(300);
    assertThat(admitted.completionTokensPerChoice()).isEqualTo(200);
    assertThat(admitted.quota()).isEqualTo(new Quota(LimitType.MINUTE, 1_000, 700, 0, 2, 1));
    assertThat(usage(T0)).isEqualTo(new UsageSnapshot(300, 300, 300, 1));
  }

  @Test
  void rejectionNamesTheMinuteAndWaitsForTheBucketThatFreesEnough() {
    settleNew(ReservationRequest.fixed(0, 1, 400), 400, T0);
    settleNew(ReservationRequest.fixed(0, 1, 500), 500, T0 + 5_000);
    long now = T0 + 10_000;

    Rejected rejected = rejected(ReservationRequest.fixed(50, 1, 100), now);

    // used 900 + 150 > 1000: the 400 of T0's bucket must go, at T0 + 61 s
    assertThat(rejected.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(rejected.retryAfterMillis()).isEqualTo(T0 + 61_000 - now);
    assertThat(rejected.quota())
        .isEqualTo(new Quota(LimitType.MINUTE, 1_000, 100, T0 + 5_000 + 61_000 - now, 2, 0));
  }

  @Test
  void unlimitedWindowsGrantTheWholeBudget() {
    Limits unlimited = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 3);

    Admitted admitted = admitted(new ReservationRequest(5_000_000, 2, 16, 2_048), T0, unlimited);

    assertThat(admitted.completionTokensPerChoice()).isEqualTo(2_048);
    assertThat(admitted.quota()).isEqualTo(new Quota(LimitType.MINUTE, -1, -1, 0, 3, 1));
  }

  @Test
  void onlyTheLimitedWindowsCount() {
    Limits dayOnly = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, 500, 3);
    settleNew(ReservationRequest.fixed(0, 1, 450), 450, T0, dayOnly);

    Rejected rejected = rejected(ReservationRequest.fixed(0, 1, 100), T0 + 1_000, dayOnly);

    assertThat(rejected.limitType()).isEqualTo(LimitType.DAY);
    assertThat(rejected.retryAfterMillis())
        .isEqualTo(Window.DAY.expiryOf(Window.DAY.bucketAt(T0)) - (T0 + 1_000));
    assertThat(rejected.quota().tightest()).isEqualTo(LimitType.DAY);
    assertThat(rejected.quota().remainingTokens()).isEqualTo(50);
  }

  @Test
  void onATieTheShorterWindowIsTightest() {
    Limits equal = new Limits(1_000, 1_000, 1_000, 3);

    Admitted admitted = admitted(ReservationRequest.fixed(0, 1, 10), T0, equal);

    assertThat(admitted.quota().tightest()).isEqualTo(LimitType.MINUTE);
  }

  @Test
  void aFullInFlightLimitAsksForTheShortRetry() {
    admitted(ReservationRequest.fixed(0, 1, 10), T0);
    admitted(ReservationRequest.fixed(0, 1, 10), T0);

    Rejected rejected = rejected(ReservationRequest.fixed(0, 1, 10), T0);

    assertThat(rejected.limitType()).isEqualTo(LimitType.CONCURRENT);
    assertThat(rejected.retryAfterMillis()).isEqualTo(RetryHints.SHORT_RETRY_MILLIS);
  }

  @Test
  void theShortRetryHintComesFromJava() {
    store = new RedisLimitStore(new ReactiveStringRedisTemplate(connections), 2_500);
    admitted(ReservationRequest.fixed(0, 1, 900), T0);
    admitted(ReservationRequest.fixed(0, 1, 50), T0);

    Rejected onlyLeasesInTheWay = rejected(ReservationRequest.fixed(0, 1, 100), T0);
    Rejected slotsTaken = rejected(ReservationRequest.fixed(0, 1, 10), T0);

    assertThat(onlyLeasesInTheWay.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(onlyLeasesInTheWay.retryAfterMillis()).isEqualTo(2_500);
    assertThat(slotsTaken.limitType()).isEqualTo(LimitType.CONCURRENT);
    assertThat(slotsTaken.retryAfterMillis()).isEqualTo(2_500);
  }

  // --- rolling windows -------------------------------------------------------------------

  @Test
  void tokensLeaveEachWindowOneBucketAfterItsLength() {
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0);
    long minuteGone = Window.MINUTE.expiryOf(Window.MINUTE.bucketAt(T0));

    assertThat(usage(minuteGone - 1).minute()).isEqualTo(100);
    assertThat(usage(minuteGone)).isEqualTo(new UsageSnapshot(0, 100, 100, 0));
    long dayGone = Window.DAY.expiryOf(Window.DAY.bucketAt(T0));
    assertThat(usage(dayGone - 1).day()).isEqualTo(100);
    assertThat(usage(dayGone)).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void bucketsFromAClockAheadAreCountedNotLost() {
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0 + 5_000);

    assertThat(usage(T0).minute()).isEqualTo(100);
  }

  // --- leases ----------------------------------------------------------------------------

  @Test
  void anExpiredLeaseIsChargedInFullWhenFoundAndItsSettleIsRefused() {
    Admitted admitted = admitted(ReservationRequest.fixed(100, 1, 200), T0);
    long found = T0 + TTL;

    assertThat(usage(found)).isEqualTo(new UsageSnapshot(300, 300, 300, 0));
    assertThat(store.settle(user, admitted.leaseId(), 10, found + 1).block(BLOCK)).isFalse();
    // charged into the bucket of the moment it was found: counted a full minute from then
    long leaves = Window.MINUTE.expiryOf(Window.MINUTE.bucketAt(found));
    assertThat(usage(leaves - 1).minute()).isEqualTo(300);
    assertThat(usage(leaves).minute()).isZero();
  }

  @Test
  void settlingExpiresOtherLeases() {
    Admitted kept = admitted(ReservationRequest.fixed(0, 1, 100), T0 + TTL - 1);
    admitted(ReservationRequest.fixed(0, 1, 200), T0);

    assertThat(store.settle(user, kept.leaseId(), 40, T0 + TTL).block(BLOCK)).isTrue();

    assertThat(usage(T0 + TTL)).isEqualTo(new UsageSnapshot(240, 240, 240, 0));
  }

  // --- Redis specifics -------------------------------------------------------------------

  @Test
  void keysExpireSoAnIdleUserCostsNothing() {
    admitted(ReservationRequest.fixed(0, 1, 100), T0);
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0);
    List<String> keys = RedisLimitStore.keys(user);

    long retention = Window.DAY.lengthMillis() + Window.DAY.bucketMillis();
    for (String key : keys) {
      assertThat((Long) call(key, "PTTL", key)).isBetween(retention - 10_000, retention + TTL);
    }
  }

  @Test
  void bucketsNoWindowCountsArePrunedOnWrite() {
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0);
    String buckets = RedisLimitStore.keys(user).get(0);
    assertThat(call(buckets, "HLEN", buckets)).isEqualTo(3L);

    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0 + 2 * Window.DAY.lengthMillis());

    assertThat(call(buckets, "HLEN", buckets)).isEqualTo(3L);
  }

  @Test
  @SuppressWarnings("unchecked")
  void bucketFieldsAreWholeNumbersEvenForLargeTimestamps() {
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0);
    String buckets = RedisLimitStore.keys(user).get(0);

    assertThat((List<Object>) call(buckets, "HKEYS", buckets))
        .containsExactlyInAnyOrder(
            "m:" + Window.MINUTE.bucketAt(T0),
            "h:" + Window.HOUR.bucketAt(T0),
            "d:" + Window.DAY.bucketAt(T0));
    String leasesKey = RedisLimitStore.keys(user).get(1);
    Admitted admitted = admitted(ReservationRequest.fixed(0, 1, 100), T0);
    assertThat(call(leasesKey, "HGET", leasesKey, admitted.leaseId()))
        .isEqualTo("100:" + (T0 + TTL));
  }

  @Test
  void repliesAreHandedOffLettucesIoThread() {
    String admittedOn =
        store
            .admit(command(ReservationRequest.fixed(0, 1, 10), T0, LIMITS))
            .map(admission -> Thread.currentThread().getName())
            .block(BLOCK);
    String usageOn =
        store.usage(user, T0).map(usage -> Thread.currentThread().getName()).block(BLOCK);

    // Lettuce names its event-loop threads lettuce-epollEventLoop-*, lettuce-nioEventLoop-*
    assertThat(List.of(admittedOn, usageOn)).noneMatch(name -> name.startsWith("lettuce-"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void theLargestLimitsRoundTripExactly() {
    long max = Limits.MAX_TOKENS;
    Limits largest = new Limits(max, max, max, 2);

    Admitted first = admitted(ReservationRequest.fixed(1, 1, max - 2), T0, largest);
    Admitted last = admitted(new ReservationRequest(0, 1, 1, max), T0, largest);

    assertThat(first.reservedTokens()).isEqualTo(max - 1);
    assertThat(first.quota()).isEqualTo(new Quota(LimitType.MINUTE, max, 1, 0, 2, 1));
    assertThat(last.completionTokensPerChoice()).isEqualTo(1);
    assertThat(last.quota().remainingTokens()).isZero();
    String leasesKey = RedisLimitStore.keys(user).get(1);
    assertThat(call(leasesKey, "HGET", leasesKey, first.leaseId()))
        .isEqualTo("999999999999999:" + (T0 + TTL));

    assertThat(store.settle(user, first.leaseId(), max - 1, T0).block(BLOCK)).isTrue();
    assertThat(usage(T0)).isEqualTo(new UsageSnapshot(max, max, max, 1));
    String buckets = RedisLimitStore.keys(user).get(0);
    assertThat((List<Object>) call(buckets, "HVALS", buckets)).containsOnly("999999999999999");
    Rejected rejected = rejected(ReservationRequest.fixed(0, 1, 1), T0 + 1_000, largest);
    assertThat(rejected.quota().limitTokens()).isEqualTo(max);
    assertThat(rejected.quota().remainingTokens()).isZero();
  }

  // --- helpers ---------------------------------------------------------------------------

  AdmitCommand command(ReservationRequest request, long now, Limits limits) {
    return new AdmitCommand(user, "lease-" + leases.incrementAndGet(), request, limits, now, TTL);
  }

  Admitted admitted(ReservationRequest request, long now) {
    return admitted(request, now, LIMITS);
  }

  Admitted admitted(ReservationRequest request, long now, Limits limits) {
    Admission admission = store.admit(command(request, now, limits)).block(BLOCK);
    assertThat(admission).isInstanceOf(Admitted.class);
    return (Admitted) admission;
  }

  Rejected rejected(ReservationRequest request, long now) {
    return rejected(request, now, LIMITS);
  }

  Rejected rejected(ReservationRequest request, long now, Limits limits) {
    Admission admission = store.admit(command(request, now, limits)).block(BLOCK);
    assertThat(admission).isInstanceOf(Rejected.class);
    return (Rejected) admission;
  }

  void settleNew(ReservationRequest request, long charged, long now) {
    settleNew(request, charged, now, LIMITS);
  }

  void settleNew(ReservationRequest request, long charged, long now, Limits limits) {
    Admitted admitted = admitted(request, now, limits);
    assertThat(store.settle(user, admitted.leaseId(), charged, now).block(BLOCK)).isTrue();
  }

  UsageSnapshot usage(long now) {
    return store.usage(user, now).block(BLOCK);
  }
}
