package io.simpletokenlimiter.limit.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Admission.Rejected;
import io.simpletokenlimiter.limit.CalendarMonth;
import io.simpletokenlimiter.limit.LimitScope;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TokenWeights;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The specification of {@link LimitStore}: every store (memory, Redis standalone, Redis Cluster,
 * and Redis behind {@code ResilientLimitStore}) runs these tests. Every rule that is not about how
 * a store keeps its data lives here, so the Java and Lua implementations cannot drift apart without
 * a red test. Time is passed explicitly, so every expectation is exact.
 */
public abstract class LimitStoreContract {

  /** Aligned to every bucket span (1 s, 60 s, 900 s), so bucket edges are easy to reason about. */
  protected static final long T0 = 1_800_000_000_000L;

  /** The calendar every store under this contract counts months in: not UTC, on purpose. */
  protected static final CalendarMonth SEOUL = new CalendarMonth(ZoneId.of("Asia/Seoul"));

  private static final long TTL = 30_000;
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final Limits DEFAULTS = new Limits(1_000, 10_000, 100_000, 5);
  private static final Limits UNLIMITED =
      new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 100);

  private LimitStore store;
  private String user;

  /** A store to test; may be shared between tests, as every test uses its own user. */
  protected abstract LimitStore store();

  @BeforeEach
  void setUp() {
    store = store();
    user = "user-" + UUID.randomUUID();
  }

  @Test
  void admitsWithinTheLimitAndCountsTheReservationInFlight() {
    Admitted admitted = admitted(admit(fixed(100, 50), DEFAULTS, T0));

    assertThat(admitted.reservedTokens()).isEqualTo(150);
    assertThat(admitted.completionTokensPerChoice()).isEqualTo(50);
    assertThat(admitted.userId()).isEqualTo(user);
    assertThat(usage(T0 + 1)).isEqualTo(new UsageSnapshot(150, 150, 150, 150, 1));
  }

  @Test
  void settleReplacesTheReservationByWhatWasServed() {
    Admitted admitted = admitted(admit(fixed(100, 500), DEFAULTS, T0));

    assertThat(settle(admitted, 180, T0 + 2_000)).isTrue();

    assertThat(usage(T0 + 2_000)).isEqualTo(new UsageSnapshot(180, 180, 180, 180, 0));
  }

  @Test
  void settlingTwiceChargesOnce() {
    Admitted admitted = admitted(admit(fixed(100, 100), DEFAULTS, T0));
    assertThat(settle(admitted, 150, T0)).isTrue();

    assertThat(settle(admitted, 150, T0)).isFalse();

    assertThat(usage(T0).minute()).isEqualTo(150);
  }

  @Test
  void settleOfAnUnknownLeaseChangesNothing() {
    charge(300, T0);

    assertThat(store.settle(user, "no-such-lease", 999, T0).block(TIMEOUT)).isFalse();

    assertThat(usage(T0)).isEqualTo(new UsageSnapshot(300, 300, 300, 300, 0));
  }

  // --- charges counted outside the store (an outage written back) ----------------------------

  @Test
  void aChargeSentAgainIsCountedOnceAndAdmissionsSeeIt() {
    assertThat(store.chargeOnce(user, "outage-1", 300, T0).block(TIMEOUT)).isTrue();
    assertThat(store.chargeOnce(user, "outage-1", 300, T0 + 1_000).block(TIMEOUT)).isFalse();
    assertThat(store.chargeOnce(user, "outage-2", 200, T0 + 2_000).block(TIMEOUT)).isTrue();

    assertThat(usage(T0 + 2_000)).isEqualTo(new UsageSnapshot(500, 500, 500, 500, 0));
    assertThat(admit(fixed(0, 501), DEFAULTS, T0 + 3_000)).isInstanceOf(Rejected.class);
    assertThat(store.chargeOnce("other-" + user, "outage-1", 300, T0).block(TIMEOUT))
        .as("the same id for another user")
        .isTrue();
  }

  @Test
  void aChargeBesideALiveLeaseKeepsEveryCountRight() {
    charge(200, T0);
    Admitted inFlight = admitted(admit(fixed(100, 100), DEFAULTS, T0 + 1_000));

    assertThat(store.chargeOnce(user, "outage-1", 300, T0 + 2_000).block(TIMEOUT)).isTrue();
    assertThat(usage(T0 + 2_000)).isEqualTo(new UsageSnapshot(700, 700, 700, 700, 1));
    assertThat(settle(inFlight, 50, T0 + 3_000)).isTrue();

    assertThat(usage(T0 + 3_000)).isEqualTo(new UsageSnapshot(550, 550, 550, 550, 0));
    Admitted last = admitted(admit(flexible(0, 1, 1, 1_000), DEFAULTS, T0 + 4_000));
    assertThat(last.reservedTokens()).isEqualTo(450);
  }

  @Test
  void aTeamMembersChargeCountsForTheTeamToo() {
    Team team = team(new Limits(1_000, 10_000, 100_000, 10));
    String alice = Ledgers.member(team.name(), "alice");
    String bob = Ledgers.member(team.name(), "bob");

    assertThat(store.chargeOnce(alice, "outage-1", 700, T0).block(TIMEOUT)).isTrue();

    assertThat(store.usage(alice, T0).block(TIMEOUT).minute()).isEqualTo(700);
    assertThat(teamUsage(team, T0).minute()).isEqualTo(700);
    Rejected rejected =
        rejected(store.admit(member(bob, fixed(0, 301), DEFAULTS, team, T0)).block(TIMEOUT));
    assertThat(rejected.scope()).isEqualTo(LimitScope.TEAM);
  }

  @Test
  void rejectsWhatDoesNotFitAndChangesNoCounter() {
    charge(900, T0);
    UsageSnapshot before = usage(T0 + 5_000);

    Rejected rejected = rejected(admit(fixed(50, 51), DEFAULTS, T0 + 5_000));

    assertThat(rejected.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(usage(T0 + 5_000)).isEqualTo(before);
  }

  @Test
  void fillsTheLimitExactly() {
    charge(900, T0);

    Admitted admitted = admitted(admit(fixed(50, 50), DEFAULTS, T0 + 1_000));

    assertThat(admitted.quota().remainingTokens()).isZero();
    assertThat(rejected(admit(fixed(1, 1), DEFAULTS, T0 + 1_000)).limitType())
        .isEqualTo(LimitType.MINUTE);
  }

  @Test
  void retryAfterIsTheTimeUntilEnoughBucketsHaveExpired() {
    charge(600, T0 + 500); // counted until a minute after its charge: T0 + 60.5 s
    charge(300, T0 + 10_200); // counted until T0 + 70.2 s

    Rejected rejected = rejected(admit(fixed(200, 300), DEFAULTS, T0 + 20_000));

    assertThat(rejected.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(rejected.retryAfterMillis()).isEqualTo(40_500);
    assertThat(admit(fixed(200, 300), DEFAULTS, T0 + 60_499)).isInstanceOf(Rejected.class);
    assertThat(admit(fixed(200, 300), DEFAULTS, T0 + 60_500)).isInstanceOf(Admitted.class);
  }

  @Test
  void retryAfterWalksAsManyBucketsAsTheRequestNeeds() {
    charge(400, T0);
    charge(400, T0 + 3_000);

    Rejected rejected = rejected(admit(fixed(300, 300), DEFAULTS, T0 + 4_000));

    // 800 + 600 - 1000 = 400: the first bucket alone frees enough.
    assertThat(rejected.retryAfterMillis()).isEqualTo(56_000);
    Rejected bigger = rejected(admit(fixed(500, 400), DEFAULTS, T0 + 4_000));
    // 800 + 900 - 1000 = 700: both buckets must expire.
    assertThat(bigger.retryAfterMillis()).isEqualTo(59_000);
  }

  @Test
  void theHourWindowBlocksWhenTheMinuteHasRoom() {
    Limits limits = new Limits(1_000, 1_500, 100_000, 5);
    charge(800, T0, limits);
    charge(600, T0 + 120_000, limits);

    Rejected rejected = rejected(admit(fixed(100, 100), limits, T0 + 180_000));

    assertThat(rejected.limitType()).isEqualTo(LimitType.HOUR);
    // The hour bucket of T0 is counted until an hour after its latest charge.
    assertThat(rejected.retryAfterMillis()).isEqualTo(3_600_000 - 180_000);
  }

  @Test
  void whenSeveralWindowsBlockTheOneThatFreesLatestIsReported() {
    Limits limits = new Limits(1_000, 1_000, 100_000, 5);
    charge(950, T0, limits);

    Rejected rejected = rejected(admit(fixed(50, 50), limits, T0 + 1_000));

    assertThat(rejected.limitType()).isEqualTo(LimitType.HOUR);
    assertThat(rejected.retryAfterMillis()).isEqualTo(3_600_000 - 1_000);
  }

  @Test
  void aBucketIsCountedUntilAWindowAfterItsLatestCharge() {
    Limits limits = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, 1_000, 5);
    charge(400, T0, limits); // day bucket [T0, T0 + 15 min)
    charge(600, T0 + 899_000, limits); // the same bucket, charged last at T0 + 899 s

    long expiry = T0 + 899_000 + 86_400_000;
    Rejected rejected = rejected(admit(fixed(1, 1), limits, expiry - 1));
    assertThat(rejected.limitType()).isEqualTo(LimitType.DAY);
    assertThat(rejected.retryAfterMillis()).isEqualTo(1);
    assertThat(admit(fixed(1, 1), limits, expiry)).isInstanceOf(Admitted.class);
  }

  @Test
  void theFirstRequestGetsItsWholeBudgetAndTheMinuteIsTightest() {
    Limits limits = new Limits(1_000, 10_000, 100_000, 2);

    Admitted admitted = admitted(admit(fixed(100, 200), limits, T0));

    assertThat(admitted.reservedTokens()).isEqualTo(300);
    assertThat(admitted.quota()).isEqualTo(new Quota(LimitType.MINUTE, 1_000, 700, 0, 2, 1));
  }

  @Test
  void aRejectionCarriesTheWholeQuota() {
    Limits limits = new Limits(1_000, 10_000, 100_000, 2);
    charge(400, T0, limits);
    charge(500, T0 + 5_000, limits);
    long now = T0 + 10_000;

    Rejected rejected = rejected(admit(fixed(50, 100), limits, now));

    assertThat(rejected.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(rejected.retryAfterMillis()).isEqualTo(T0 + 60_000 - now);
    assertThat(rejected.quota())
        .isEqualTo(new Quota(LimitType.MINUTE, 1_000, 100, T0 + 5_000 + 60_000 - now, 2, 0));
  }

  @Test
  void unlimitedWindowsReportNoTightestLimit() {
    Limits unlimited = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 3);

    Admitted admitted = admitted(admit(flexible(5_000_000, 2, 16, 2_048), unlimited, T0));

    assertThat(admitted.quota()).isEqualTo(new Quota(LimitType.MINUTE, -1, -1, 0, 3, 1));
  }

  @Test
  void onlyTheLimitedWindowsCount() {
    Limits dayOnly = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, 500, 3);
    charge(450, T0, dayOnly);

    Rejected rejected = rejected(admit(fixed(0, 100), dayOnly, T0 + 1_000));

    assertThat(rejected.limitType()).isEqualTo(LimitType.DAY);
    assertThat(rejected.retryAfterMillis())
        .isEqualTo(T0 + Window.DAY.lengthMillis() - (T0 + 1_000));
    assertThat(rejected.quota().tightest()).isEqualTo(LimitType.DAY);
    assertThat(rejected.quota().remainingTokens()).isEqualTo(50);
  }

  @Test
  void onATieTheShorterWindowIsTightest() {
    Limits equal = new Limits(1_000, 1_000, 1_000, 3);

    Admitted admitted = admitted(admit(fixed(0, 10), equal, T0));

    assertThat(admitted.quota().tightest()).isEqualTo(LimitType.MINUTE);
  }

  @Test
  void onlyReservationsInTheWayAskForTheShortRetry() {
    Limits two = new Limits(1_000, 10_000, 100_000, 2);
    admitted(admit(fixed(0, 900), two, T0));
    admitted(admit(fixed(0, 50), two, T0));

    Rejected tokens = rejected(admit(fixed(0, 100), two, T0));
    Rejected slots = rejected(admit(fixed(0, 10), two, T0));

    assertThat(tokens.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(tokens.retryAfterMillis()).isEqualTo(RetryHints.SHORT_RETRY_MILLIS);
    assertThat(slots.limitType()).isEqualTo(LimitType.CONCURRENT);
    assertThat(slots.retryAfterMillis()).isEqualTo(RetryHints.SHORT_RETRY_MILLIS);
  }

  @Test
  void tokensLeaveEachWindowOneWindowLengthAfterTheyWereCharged() {
    charge(100, T0);
    long minuteGone = T0 + Window.MINUTE.lengthMillis();

    assertThat(usage(minuteGone - 1).minute()).isEqualTo(100);
    assertThat(usage(minuteGone)).isEqualTo(new UsageSnapshot(0, 100, 100, 100, 0));
    long dayGone = T0 + Window.DAY.lengthMillis();
    assertThat(usage(dayGone - 1).day()).isEqualTo(100);
    // Without a monthly quota a store may drop the month's count with the day's (memory does).
    UsageSnapshot afterADay = usage(dayGone);
    assertThat(afterADay).isIn(UsageSnapshot.EMPTY, new UsageSnapshot(0, 0, 0, 100, 0));
  }

  @Test
  void tokensChargedByAClockAheadAreCountedByOneBehind() {
    charge(100, T0 + 5_000);

    assertThat(usage(T0).minute()).isEqualTo(100);
    assertThat(usage(T0 - 60_000).minute()).isEqualTo(100);
  }

  @Test
  void aChargeFromAClockBehindIsCountedFromTheLatestTimeSeen() {
    charge(100, T0 + 61_000);
    Admitted late = admitted(admit(fixed(0, 500), DEFAULTS, T0));

    // Settled by a replica whose clock is 61 s behind: counted as of the latest time the user's
    // counters have seen, so it stays in the minute of everyone else.
    assertThat(settle(late, 500, T0)).isTrue();

    assertThat(usage(T0 + 61_000)).isEqualTo(new UsageSnapshot(600, 600, 600, 600, 0));
  }

  @Test
  void onlyWritesMoveAUsersTimeForward() {
    AdmitCommand longLease =
        new AdmitCommand(user, UUID.randomUUID().toString(), fixed(0, 500), DEFAULTS, T0, 120_000);
    Admitted late = admitted(store.admit(longLease).block(TIMEOUT));
    assertThat(usage(T0 + 61_000).minute()).isEqualTo(500);
    assertThat(rejected(admit(fixed(0, 600), DEFAULTS, T0 + 61_000)).limitType())
        .isEqualTo(LimitType.MINUTE);

    // Reads and rejections at T0 + 61 s changed nothing: the settle at T0 charges T0's bucket.
    assertThat(settle(late, 500, T0)).isTrue();

    assertThat(usage(T0 + 61_000)).isEqualTo(new UsageSnapshot(0, 500, 500, 500, 0));
  }

  @Test
  void anExpiredLeaseIsChargedInTheBucketOfTheMomentItIsFound() {
    Admitted admitted = admitted(admit(fixed(100, 200), DEFAULTS, T0));
    long found = T0 + TTL;

    assertThat(usage(found)).isEqualTo(new UsageSnapshot(300, 300, 300, 300, 0));
    assertThat(settle(admitted, 10, found + 1)).isFalse();
    long leaves = Window.MINUTE.expiryOfChargeAt(found);
    assertThat(usage(leaves - 1).minute()).isEqualTo(300);
    assertThat(usage(leaves).minute()).isZero();
  }

  @Test
  void settlingOneLeaseExpiresTheOthers() {
    admitted(admit(fixed(0, 200), DEFAULTS, T0));
    Admitted kept = admitted(admit(fixed(0, 100), DEFAULTS, T0 + TTL - 1));

    assertThat(settle(kept, 40, T0 + TTL)).isTrue();

    assertThat(usage(T0 + TTL)).isEqualTo(new UsageSnapshot(240, 240, 240, 240, 0));
  }

  @Test
  void theLargestLimitsAreCountedExactly() {
    long max = Limits.MAX_TOKENS;
    Limits largest = new Limits(max, max, max, 2);

    Admitted first = admitted(admit(fixed(1, max - 2), largest, T0));
    Admitted last = admitted(admit(flexible(0, 1, 1, max), largest, T0));

    assertThat(first.reservedTokens()).isEqualTo(max - 1);
    assertThat(first.quota()).isEqualTo(new Quota(LimitType.MINUTE, max, 1, 0, 2, 1));
    assertThat(last.completionTokensPerChoice()).isEqualTo(1);
    assertThat(last.quota().remainingTokens()).isZero();
    assertThat(settle(first, max - 1, T0)).isTrue();
    assertThat(usage(T0)).isEqualTo(new UsageSnapshot(max, max, max, max, 1));
    Rejected rejected = rejected(admit(fixed(0, 1), largest, T0 + 1_000));
    assertThat(rejected.quota().limitTokens()).isEqualTo(max);
    assertThat(rejected.quota().remainingTokens()).isZero();
  }

  @Test
  void retryAfterIsNeverLongerThanTheWindowThatBlocks() {
    for (Window window : Window.values()) {
      String someone = "spent-" + window + "-" + UUID.randomUUID();
      Limits limits =
          new Limits(
              window == Window.MINUTE ? 1_000 : Limits.UNLIMITED,
              window == Window.HOUR ? 1_000 : Limits.UNLIMITED,
              window == Window.DAY ? 1_000 : Limits.UNLIMITED,
              5);
      // Spent at the very end of a bucket, and asked again at once.
      long end = T0 + window.bucketMillis() - 1;
      Admitted spent =
          admitted(store.admit(command(someone, fixed(0, 1_000), limits, end)).block(TIMEOUT));
      assertThat(settle(spent, 1_000, end)).isTrue();

      Rejected rejected =
          rejected(store.admit(command(someone, fixed(0, 1), limits, end)).block(TIMEOUT));

      assertThat(rejected.limitType()).isEqualTo(window.limitType());
      assertThat(rejected.retryAfterMillis()).isEqualTo(window.lengthMillis());
      assertThat(rejected.quota().resetMillis()).isEqualTo(window.lengthMillis());
    }
  }

  @Test
  void grantsTheLargestCompletionBudgetThatFits() {
    charge(700, T0);

    Admitted one = admitted(admit(flexible(100, 1, 16, 1_948), DEFAULTS, T0 + 1_000));
    assertThat(one.completionTokensPerChoice()).isEqualTo(200);
    assertThat(one.reservedTokens()).isEqualTo(300);
    settle(one, 0, T0 + 1_000);

    Admitted two = admitted(admit(flexible(100, 2, 16, 1_948), DEFAULTS, T0 + 1_000));
    assertThat(two.completionTokensPerChoice()).isEqualTo(100);
    assertThat(two.reservedTokens()).isEqualTo(300);
  }

  @Test
  void grantsAtMostTheRequestedMaximum() {
    Admitted admitted = admitted(admit(flexible(100, 1, 16, 200), DEFAULTS, T0));

    assertThat(admitted.completionTokensPerChoice()).isEqualTo(200);
  }

  @Test
  void rejectsAFlexibleRequestWhenNotEvenTheMinimumFits() {
    charge(890, T0);

    Rejected rejected = rejected(admit(flexible(100, 1, 16, 1_948), DEFAULTS, T0 + 1_000));

    assertThat(rejected.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(rejected.retryAfterMillis()).isEqualTo(59_000);
  }

  @Test
  void inFlightReservationsCountAgainstEveryWindow() {
    admitted(admit(fixed(100, 700), DEFAULTS, T0));

    Rejected rejected = rejected(admit(fixed(100, 101), DEFAULTS, T0));

    assertThat(rejected.limitType()).isEqualTo(LimitType.MINUTE);
    // Nothing settled yet, so no bucket can free room: a short hint.
    assertThat(rejected.retryAfterMillis()).isEqualTo(1_000);
  }

  @Test
  void limitsRequestsInFlight() {
    Limits two = new Limits(10_000, 100_000, 1_000_000, 2);
    Admitted first = admitted(admit(fixed(10, 10), two, T0));
    admitted(admit(fixed(10, 10), two, T0));

    Rejected third = rejected(admit(fixed(10, 10), two, T0));
    assertThat(third.limitType()).isEqualTo(LimitType.CONCURRENT);
    assertThat(third.retryAfterMillis()).isEqualTo(1_000);
    assertThat(third.quota().inFlight()).isEqualTo(2);

    settle(first, 20, T0 + 100);
    assertThat(admit(fixed(10, 10), two, T0 + 100)).isInstanceOf(Admitted.class);
  }

  @Test
  void tokenLimitsAreReportedBeforeTheInFlightLimit() {
    Limits one = new Limits(100, 10_000, 100_000, 1);
    admitted(admit(fixed(10, 10), one, T0));

    assertThat(rejected(admit(fixed(50, 50), one, T0)).limitType()).isEqualTo(LimitType.MINUTE);
  }

  @Test
  void anExpiredLeaseFreesItsSlotAndIsChargedItsWholeReservation() {
    Limits one = new Limits(10_000, 100_000, 1_000_000, 1);
    admitted(admit(fixed(100, 400), one, T0));

    assertThat(rejected(admit(fixed(1, 1), one, T0 + TTL - 1)).limitType())
        .isEqualTo(LimitType.CONCURRENT);
    Admitted next = admitted(admit(fixed(1, 1), one, T0 + TTL));

    assertThat(next.quota().inFlight()).isEqualTo(1);
    assertThat(usage(T0 + TTL)).isEqualTo(new UsageSnapshot(502, 502, 502, 502, 1));
  }

  @Test
  void settlingAnExpiredLeaseThatWasAlreadyChargedDoesNotChargeAgain() {
    Admitted admitted = admitted(admit(fixed(100, 400), DEFAULTS, T0));
    assertThat(usage(T0 + TTL).inFlight()).isZero();

    assertThat(settle(admitted, 120, T0 + TTL + 1)).isFalse();

    assertThat(usage(T0 + TTL + 1).minute()).isEqualTo(500);
  }

  @Test
  void aLateSettleOfALeaseNotYetFoundExpiredChargesWhatWasServed() {
    Admitted admitted = admitted(admit(fixed(100, 400), DEFAULTS, T0));

    assertThat(settle(admitted, 120, T0 + TTL + 5)).isTrue();

    assertThat(usage(T0 + TTL + 5)).isEqualTo(new UsageSnapshot(120, 120, 120, 120, 0));
  }

  @Test
  void renewingKeepsALiveLeaseAlive() {
    Admitted admitted = admitted(admit(fixed(100, 100), DEFAULTS, T0));

    assertThat(store.renew(user, admitted.leaseId(), T0 + 20_000, TTL).block(TIMEOUT)).isTrue();

    assertThat(usage(T0 + 45_000).inFlight()).isEqualTo(1);
    assertThat(usage(T0 + 50_000).inFlight()).isZero();
  }

  @Test
  void anExpiredOrUnknownLeaseCannotBeRenewed() {
    Admitted admitted = admitted(admit(fixed(100, 100), DEFAULTS, T0));

    assertThat(store.renew(user, admitted.leaseId(), T0 + TTL, TTL).block(TIMEOUT)).isFalse();
    assertThat(store.renew(user, "unknown", T0, TTL).block(TIMEOUT)).isFalse();
  }

  @Test
  void aFailedRenewOfAnExpiredLeaseChargesItsReservationAndALaterSettleNothingMore() {
    Admitted admitted = admitted(admit(fixed(100, 400), DEFAULTS, T0));

    assertThat(store.renew(user, admitted.leaseId(), T0 + TTL + 1, TTL).block(TIMEOUT)).isFalse();
    assertThat(settle(admitted, 120, T0 + TTL + 2)).isFalse();

    assertThat(usage(T0 + TTL + 2)).isEqualTo(new UsageSnapshot(500, 500, 500, 500, 0));
  }

  @Test
  void quotaDescribesTheTightestWindowAfterTheReservation() {
    Limits limits = new Limits(1_000, 1_200, 100_000, 3);
    charge(400, T0, limits);

    Admitted admitted = admitted(admit(fixed(100, 200), limits, T0 + 10_000));

    assertThat(admitted.quota().tightest()).isEqualTo(LimitType.MINUTE);
    assertThat(admitted.quota().limitTokens()).isEqualTo(1_000);
    assertThat(admitted.quota().remainingTokens()).isEqualTo(300);
    assertThat(admitted.quota().resetMillis()).isEqualTo(50_000);
    assertThat(admitted.quota().maxConcurrent()).isEqualTo(3);
    assertThat(admitted.quota().inFlight()).isEqualTo(1);

    charge(0, T0 + 61_000, limits);
    Admitted later = admitted(admit(fixed(100, 100), limits, T0 + 61_000));
    assertThat(later.quota().tightest()).isEqualTo(LimitType.HOUR);
    assertThat(later.quota().remainingTokens()).isEqualTo(1_200 - 400 - 300 - 200);
  }

  @Test
  void unlimitedWindowsNeverBlock() {
    Limits unlimited = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 5);

    Admitted admitted = admitted(admit(flexible(1_000_000, 1, 16, 2_048), unlimited, T0));

    assertThat(admitted.completionTokensPerChoice()).isEqualTo(2_048);
    assertThat(admitted.quota().limitTokens()).isEqualTo(Limits.UNLIMITED);
  }

  @Test
  void anUnknownUserHasZeroUsage() {
    assertThat(usage(T0)).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void usersDoNotShareCounters() {
    charge(1_000, T0);
    String otherUser = "other-" + UUID.randomUUID();

    Admission other = store.admit(command(otherUser, fixed(500, 500), DEFAULTS, T0)).block(TIMEOUT);

    assertThat(other).isInstanceOf(Admitted.class);
    assertThat(usage(T0).minute()).isEqualTo(1_000);
  }

  @Test
  void userIdsWithEveryAllowedCharacterAreKeptApart() {
    String weird = "a.b_c@d:e-f" + UUID.randomUUID();
    String similar = "a.b_c@d:e-f" + UUID.randomUUID();
    store.admit(command(weird, fixed(10, 10), DEFAULTS, T0)).block(TIMEOUT);

    assertThat(store.usage(weird, T0).block(TIMEOUT).minute()).isEqualTo(20);
    assertThat(store.usage(similar, T0).block(TIMEOUT)).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void concurrentRequestsNeverReserveMoreThanTheLimit() {
    Limits limits = new Limits(1_000, 10_000, 100_000, 1_000);
    AtomicInteger admitted = new AtomicInteger();

    List<Admission> outcomes =
        Flux.range(0, 300)
            .flatMap(
                i ->
                    Mono.defer(() -> store.admit(command(user, fixed(3, 7), limits, T0)))
                        .subscribeOn(Schedulers.parallel()),
                64)
            .doOnNext(a -> admitted.addAndGet(a instanceof Admitted ? 1 : 0))
            .collectList()
            .block(Duration.ofSeconds(30));

    assertThat(outcomes).hasSize(300);
    assertThat(admitted.get()).isEqualTo(100);
    assertThat(usage(T0)).isEqualTo(new UsageSnapshot(1_000, 1_000, 1_000, 1_000, 100));
  }

  @Test
  void forgettingEmptiesEveryWindowButKeepsTheReservationsInFlight() {
    charge(300, T0);
    Admitted inFlight = admitted(admit(fixed(100, 50), DEFAULTS, T0 + 1_000));

    store.forget(user, T0 + 2_000).block(TIMEOUT);

    assertThat(usage(T0 + 2_000)).isEqualTo(new UsageSnapshot(150, 150, 150, 150, 1));
    assertThat(settle(inFlight, 120, T0 + 3_000)).isTrue();
    assertThat(usage(T0 + 3_000)).isEqualTo(new UsageSnapshot(120, 120, 120, 120, 0));
  }

  @Test
  void aForgottenUserWhoWasSpentIsAdmittedAgain() {
    Limits limits = new Limits(1_000, 10_000, 100_000, 5);
    serve(user, 1_000, 1_000, T0);
    rejected(admit(fixed(10, 10), limits, T0 + 1));

    store.forget(user, T0 + 2).block(TIMEOUT);

    admitted(admit(fixed(10, 10), limits, T0 + 3));
  }

  @Test
  void forgettingAnUnknownUserChangesNothing() {
    store.forget(user, T0).block(TIMEOUT);

    assertThat(usage(T0)).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void topListsTheHeaviestUsersOfTheWindowWithTheirExactUsage() {
    long now = aTimeOfItsOwn();
    String heavy = user + "-heavy";
    String medium = user + "-medium";
    String light = user + "-light";
    String idle = user + "-idle";
    serve(heavy, 6_000, 5_000, now);
    serve(medium, 3_000, 3_000, now + 1_000);
    Admitted inFlight =
        admitted(store.admit(command(medium, fixed(400, 100), UNLIMITED, now + 2_000)).block());
    serve(light, 200, 100, now + 3_000);
    serve(idle, 50, 0, now + 4_000);

    List<UserUsage> top = store.top(Window.DAY, 2, now + 5_000).block(TIMEOUT);

    assertThat(top).extracting(UserUsage::userId).containsExactly(heavy, medium);
    assertThat(top.get(1).usage()).isEqualTo(new UsageSnapshot(3_500, 3_500, 3_500, 3_500, 1));
    assertThat(store.top(Window.DAY, 10, now + 5_000).block(TIMEOUT))
        .extracting(UserUsage::userId)
        .containsExactly(heavy, medium, light);

    settle(inFlight, 0, now + 6_000);
    assertThat(store.top(Window.MINUTE, 10, now + 70_000).block(TIMEOUT)).isEmpty();
    assertThat(store.top(Window.HOUR, 1, now + 70_000).block(TIMEOUT))
        .containsExactly(new UserUsage(heavy, new UsageSnapshot(0, 5_000, 5_000, 5_000, 0)));
  }

  @Test
  void topAgreesWithUsageForManyUsersWhoseReservationsWereLargerThanTheirCharges() {
    long now = aTimeOfItsOwn();
    Random random = new Random(42);
    List<String> users = new ArrayList<>();
    for (int i = 0; i < 90; i++) {
      String each = user + "-" + i;
      users.add(each);
      long charged = 1 + random.nextInt(5_000);
      // Loose bounds: some reserved far more than they were charged.
      serve(each, charged + random.nextInt(20_000), charged, now + i);
    }

    List<UserUsage> top = store.top(Window.HOUR, 10, now + 1_000).block(TIMEOUT);

    List<UserUsage> expected =
        users.stream()
            .map(each -> new UserUsage(each, store.usage(each, now + 1_000).block(TIMEOUT)))
            .sorted(
                Comparator.comparingLong((UserUsage u) -> u.usage().hour())
                    .reversed()
                    .thenComparing(UserUsage::userId))
            .limit(10)
            .toList();
    assertThat(top).isEqualTo(expected);
  }

  // --- calendar months (every store of this contract counts months in Asia/Seoul) -------------

  /** Midnight of 1 February 2027 in Seoul: 15:00 UTC on 31 January, two weeks after T0. */
  private static final long SEOUL_FEBRUARY =
      ZonedDateTime.of(2027, 2, 1, 0, 0, 0, 0, SEOUL.zone()).toInstant().toEpochMilli();

  private static final Limits MONTHLY =
      new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 1_000, 100);

  @Test
  void theMonthResetsAtLocalMidnightOnTheFirstAndRetryAfterPointsThere() {
    serveWithin(MONTHLY, 1_000, T0);
    long lateInJanuary = SEOUL_FEBRUARY - 3_600_000; // 23:00 in Seoul (14:00 UTC) on the 31st

    Rejected rejected = rejected(admit(fixed(1, 1), MONTHLY, lateInJanuary));

    assertThat(rejected.limitType()).isEqualTo(LimitType.MONTH);
    assertThat(rejected.retryAfterMillis()).isEqualTo(3_600_000);
    assertThat(usage(lateInJanuary).month()).isEqualTo(1_000);
    rejected(admit(fixed(1, 1), MONTHLY, SEOUL_FEBRUARY - 1));
    Admitted february = admitted(admit(fixed(1, 1), MONTHLY, SEOUL_FEBRUARY));
    assertThat(usage(SEOUL_FEBRUARY).month()).isEqualTo(february.reservedTokens());
  }

  @Test
  void aMonthlyQuotaOutlivesTheDayWindow() {
    serveWithin(MONTHLY, 900, T0);
    long twoDaysLater = T0 + 2 * Window.DAY.lengthMillis();

    assertThat(usage(twoDaysLater)).isEqualTo(new UsageSnapshot(0, 0, 0, 900, 0));
    assertThat(admit(fixed(50, 51), MONTHLY, twoDaysLater)).isInstanceOf(Rejected.class);
    assertThat(admitted(admit(fixed(50, 50), MONTHLY, twoDaysLater)).quota().remainingTokens())
        .isZero();
  }

  @Test
  void theMonthCountsReservationsAndSettlesToWhatWasServed() {
    Limits limits = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 500, 10);
    Admitted first = admitted(admit(fixed(100, 300), limits, T0));
    assertThat(usage(T0).month()).isEqualTo(400);

    settle(first, 150, T0 + 1_000);
    admitted(admit(fixed(100, 250), limits, T0 + 2_000));
    Rejected full = rejected(admit(fixed(1, 1), limits, T0 + 3_000));

    assertThat(usage(T0 + 3_000).month()).isEqualTo(500);
    assertThat(full.limitType()).isEqualTo(LimitType.MONTH);
    assertThat(full.retryAfterMillis()).isEqualTo(SEOUL_FEBRUARY - (T0 + 3_000));
    assertThat(full.quota().tightest()).isEqualTo(LimitType.MONTH);
  }

  // --- token weights -------------------------------------------------------------------------

  @Test
  void theGrantAndTheReservationArePricedWithTheWeights() {
    TokenWeights weights = new TokenWeights(1_000, 3_000, 500);
    Limits limits = new Limits(1_000, 10_000, 100_000, 5);

    Admitted admitted =
        admitted(
            store
                .admit(weighted(user, flexible(100, 1, 1, 2_000), limits, weights, T0))
                .block(TIMEOUT));

    // 100 prompt units (the dearer of prompt and cached), then 900 units buy 300 tokens at 3
    assertThat(admitted.completionTokensPerChoice()).isEqualTo(300);
    assertThat(admitted.reservedTokens()).isEqualTo(1_000);
    assertThat(usage(T0).minute()).isEqualTo(1_000);
  }

  @Test
  void fractionalWeightsRoundTheCostUpAndNeverGrantMoreThanFits() {
    TokenWeights weights = new TokenWeights(1_000, 300, 1_000);
    Limits limits = new Limits(101, 10_000, 100_000, 5);

    Admitted admitted =
        admitted(
            store
                .admit(weighted(user, flexible(10, 3, 1, 2_000), limits, weights, T0))
                .block(TIMEOUT));

    // 91 units for completions at 0.3: 303 tokens, 101 per choice, costing ceil(90.9) = 91
    assertThat(admitted.completionTokensPerChoice()).isEqualTo(101);
    assertThat(admitted.reservedTokens()).isEqualTo(101);
    assertThat(
            store.admit(weighted(user, flexible(0, 1, 1, 1), limits, weights, T0)).block(TIMEOUT))
        .isInstanceOf(Rejected.class);
  }

  // --- teams ---------------------------------------------------------------------------------

  @Test
  void aTeamMemberIsAdmittedOnlyIfTheRequestFitsTheTeamToo() {
    Team team = team(new Limits(1_000, 10_000, 100_000, 10));
    String alice = Ledgers.member(team.name(), "alice");
    String bob = Ledgers.member(team.name(), "bob");
    Limits own = new Limits(800, 10_000, 100_000, 5);

    admitted(store.admit(member(alice, fixed(0, 600), own, team, T0)).block(TIMEOUT));
    UsageSnapshot bobBefore = store.usage(bob, T0).block(TIMEOUT);
    Rejected rejected =
        rejected(store.admit(member(bob, fixed(0, 500), own, team, T0)).block(TIMEOUT));

    assertThat(rejected.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(rejected.scope()).isEqualTo(LimitScope.TEAM);
    assertThat(store.usage(bob, T0).block(TIMEOUT)).isEqualTo(bobBefore);
    assertThat(teamUsage(team, T0)).isEqualTo(new UsageSnapshot(600, 600, 600, 600, 1));
    Admitted fits = admitted(store.admit(member(bob, fixed(0, 400), own, team, T0)).block(TIMEOUT));
    assertThat(fits.quota().remainingTokens()).isZero();
    assertThat(teamUsage(team, T0)).isEqualTo(new UsageSnapshot(1_000, 1_000, 1_000, 1_000, 2));
    assertThat(store.usage(bob, T0).block(TIMEOUT))
        .isEqualTo(new UsageSnapshot(400, 400, 400, 400, 1));
  }

  @Test
  void theUsersOwnLimitBlocksWithTheUserScope() {
    Team team = team(new Limits(100_000, 1_000_000, 10_000_000, 10));
    String alice = Ledgers.member(team.name(), "alice");

    Rejected rejected =
        rejected(store.admit(member(alice, fixed(0, 1_001), DEFAULTS, team, T0)).block(TIMEOUT));

    assertThat(rejected.scope()).isEqualTo(LimitScope.USER);
    assertThat(teamUsage(team, T0)).isEqualTo(UsageSnapshot.EMPTY);
  }

  @Test
  void aSettleChargesTheUserAndTheTeamAndTheTeamsRetryComesFromItsOwnBuckets() {
    Team team = team(new Limits(1_000, 10_000, 100_000, 10));
    String alice = Ledgers.member(team.name(), "alice");
    String bob = Ledgers.member(team.name(), "bob");
    Admitted admitted =
        admitted(store.admit(member(alice, fixed(100, 900), DEFAULTS, team, T0)).block(TIMEOUT));

    assertThat(settle(admitted, 700, T0 + 5_000)).isTrue();

    assertThat(store.usage(alice, T0 + 5_000).block(TIMEOUT).minute()).isEqualTo(700);
    assertThat(teamUsage(team, T0 + 5_000).minute()).isEqualTo(700);
    Rejected rejected =
        rejected(
            store.admit(member(bob, fixed(0, 301), DEFAULTS, team, T0 + 6_000)).block(TIMEOUT));
    assertThat(rejected.scope()).isEqualTo(LimitScope.TEAM);
    assertThat(rejected.retryAfterMillis()).isEqualTo(T0 + 65_000 - (T0 + 6_000));
  }

  @Test
  void aTeamHasItsOwnInFlightLimit() {
    Team team = team(new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 1));
    String alice = Ledgers.member(team.name(), "alice");
    String bob = Ledgers.member(team.name(), "bob");
    Admitted first =
        admitted(store.admit(member(alice, fixed(1, 1), DEFAULTS, team, T0)).block(TIMEOUT));

    Rejected rejected =
        rejected(store.admit(member(bob, fixed(1, 1), DEFAULTS, team, T0)).block(TIMEOUT));

    assertThat(rejected.limitType()).isEqualTo(LimitType.CONCURRENT);
    assertThat(rejected.scope()).isEqualTo(LimitScope.TEAM);
    settle(first, 2, T0 + 1);
    admitted(store.admit(member(bob, fixed(1, 1), DEFAULTS, team, T0 + 2)).block(TIMEOUT));
  }

  @Test
  void aTeamMembersExpiredLeaseIsChargedToTheTeamToo() {
    Team team = team(new Limits(1_000, 10_000, 100_000, 10));
    String alice = Ledgers.member(team.name(), "alice");
    admitted(store.admit(member(alice, fixed(100, 200), DEFAULTS, team, T0)).block(TIMEOUT));

    long expired = T0 + TTL;
    assertThat(teamUsage(team, expired)).isEqualTo(new UsageSnapshot(300, 300, 300, 300, 0));
    assertThat(store.usage(alice, expired).block(TIMEOUT))
        .isEqualTo(new UsageSnapshot(300, 300, 300, 300, 0));
  }

  @Test
  void aTeamsMonthlyQuotaBlocksEveryMember() {
    Team team = team(new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 500, 10));
    String alice = Ledgers.member(team.name(), "alice");
    String bob = Ledgers.member(team.name(), "bob");
    Admitted admitted =
        admitted(store.admit(member(alice, fixed(0, 500), DEFAULTS, team, T0)).block(TIMEOUT));
    settle(admitted, 500, T0);

    Rejected rejected =
        rejected(store.admit(member(bob, fixed(0, 1), DEFAULTS, team, T0 + 1)).block(TIMEOUT));

    assertThat(rejected.limitType()).isEqualTo(LimitType.MONTH);
    assertThat(rejected.scope()).isEqualTo(LimitScope.TEAM);
    assertThat(rejected.retryAfterMillis()).isEqualTo(SEOUL_FEBRUARY - (T0 + 1));
  }

  @Test
  void racingTeamMembersNeverTogetherReserveMoreThanTheTeamOrTheirOwnLimits() {
    Team team = team(new Limits(1_000, 10_000, 100_000, 1_000));
    Limits own = new Limits(300, 10_000, 100_000, 1_000);
    List<String> members =
        List.of("a", "b", "c", "d", "e").stream()
            .map(name -> Ledgers.member(team.name(), name))
            .toList();

    List<Admission> outcomes =
        Flux.range(0, 400)
            .flatMap(
                i ->
                    Mono.defer(
                            () ->
                                store.admit(member(members.get(i % 5), fixed(3, 7), own, team, T0)))
                        .subscribeOn(Schedulers.parallel()),
                64)
            .collectList()
            .block(Duration.ofSeconds(30));

    assertThat(outcomes.stream().filter(Admitted.class::isInstance)).hasSize(100);
    assertThat(teamUsage(team, T0).minute()).isEqualTo(1_000);
    long members_total = 0;
    for (String member : members) {
      long minute = store.usage(member, T0).block(TIMEOUT).minute();
      assertThat(minute).isLessThanOrEqualTo(300);
      members_total += minute;
    }
    assertThat(members_total).isEqualTo(1_000);
  }

  @Test
  void movingToAnotherTeamCarriesTheUsersOwnUsageButNotTheOldTeamsUsage() {
    Team research = team(new Limits(10_000, 100_000, 1_000_000, 10));
    Team sales = team(new Limits(10_000, 100_000, 1_000_000, 10));
    String inResearch = Ledgers.member(research.name(), user);
    String inSales = Ledgers.member(sales.name(), user);
    Admitted served =
        admitted(
            store
                .admit(member(inResearch, fixed(100, 800), DEFAULTS, research, T0))
                .block(TIMEOUT));
    settle(served, 900, T0);
    Admitted inFlight =
        admitted(
            store
                .admit(member(inResearch, fixed(0, 50), DEFAULTS, research, T0 + 1_000))
                .block(TIMEOUT));

    store.carryOver(inResearch, inSales, T0 + 2_000).block(TIMEOUT);

    assertThat(store.usage(inSales, T0 + 2_000).block(TIMEOUT).minute()).isEqualTo(950);
    assertThat(
            store.admit(member(inSales, fixed(0, 51), DEFAULTS, sales, T0 + 2_000)).block(TIMEOUT))
        .isInstanceOf(Rejected.class);
    assertThat(teamUsage(sales, T0 + 2_000).minute()).isZero();
    assertThat(teamUsage(research, T0 + 2_000).minute()).isEqualTo(950);
    // The request admitted before the move settles where it was admitted; the new ledger keeps
    // its reservation until that copy expires, never less.
    assertThat(settle(inFlight, 10, T0 + 3_000)).isTrue();
    assertThat(teamUsage(research, T0 + 3_000).minute()).isEqualTo(910);
    assertThat(store.usage(inSales, T0 + 3_000).block(TIMEOUT).minute()).isBetween(910L, 950L);
  }

  @Test
  void joiningATeamCarriesTheUsageCountedWithoutOne() {
    Team research = team(new Limits(10_000, 100_000, 1_000_000, 10));
    String inResearch = Ledgers.member(research.name(), user);
    serveWithin(MONTHLY, 700, T0);

    store.carryOver(user, inResearch, T0 + 1_000).block(TIMEOUT);
    store.carryOver(user, inResearch, T0 + 1_000).block(TIMEOUT); // a second replica's reload

    assertThat(store.usage(inResearch, T0 + 1_000).block(TIMEOUT))
        .isEqualTo(new UsageSnapshot(700, 700, 700, 700, 0));
    assertThat(
            store
                .admit(member(inResearch, fixed(0, 301), MONTHLY, research, T0 + 1_000))
                .block(TIMEOUT))
        .isInstanceOf(Rejected.class);
  }

  private Team team(Limits limits) {
    return new Team("team-" + UUID.randomUUID(), limits);
  }

  private UsageSnapshot teamUsage(Team team, long now) {
    return store.teamUsage(team.name(), now).block(TIMEOUT);
  }

  private static AdmitCommand member(
      String ledger, ReservationRequest request, Limits limits, Team team, long now) {
    return new AdmitCommand(
        ledger,
        UUID.randomUUID().toString(),
        request,
        limits,
        now,
        TTL,
        TokenWeights.ONE,
        Optional.of(team));
  }

  private static AdmitCommand weighted(
      String userId, ReservationRequest request, Limits limits, TokenWeights weights, long now) {
    return new AdmitCommand(
        userId, UUID.randomUUID().toString(), request, limits, now, TTL, weights, Optional.empty());
  }

  /** Serves {@code tokens} at {@code now} under {@code limits}: admitted, settled at once. */
  private void serveWithin(Limits limits, long tokens, long now) {
    settle(admitted(admit(fixed(0, tokens), limits, now)), tokens, now);
  }

  /** A day no other test uses, so that a shared store's ranking holds only this test's users. */
  private static long aTimeOfItsOwn() {
    return T0 + 86_400_000L * (10 + ThreadLocalRandom.current().nextInt(1_000_000));
  }

  /** Admits {@code reserved} tokens for {@code userId} and settles them to {@code charged}. */
  private void serve(String userId, long reserved, long charged, long now) {
    Admitted admitted =
        admitted(
            store.admit(command(userId, fixed(reserved - 1, 1), UNLIMITED, now)).block(TIMEOUT));
    assertThat(settle(admitted, charged, now)).isTrue();
  }

  private Admission admit(ReservationRequest request, Limits limits, long now) {
    return store.admit(command(user, request, limits, now)).block(TIMEOUT);
  }

  private AdmitCommand command(String userId, ReservationRequest request, Limits limits, long now) {
    return new AdmitCommand(userId, UUID.randomUUID().toString(), request, limits, now, TTL);
  }

  /** Settles where the lease is held, as the limiter does. */
  private boolean settle(Admitted admitted, long tokens, long now) {
    return admitted
        .holder()
        .settle(admitted.userId(), admitted.leaseId(), tokens, now)
        .block(TIMEOUT);
  }

  /** Serves {@code tokens} at {@code now}: an admitted request settled at once. */
  private void charge(long tokens, long now) {
    charge(tokens, now, new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 100));
  }

  private void charge(long tokens, long now, Limits limits) {
    Admitted admitted =
        admitted(
            admit(
                fixed(0, 1),
                new Limits(
                    Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, limits.maxConcurrent()),
                now));
    settle(admitted, tokens, now);
  }

  private UsageSnapshot usage(long now) {
    return store.usage(user, now).block(TIMEOUT);
  }

  private static ReservationRequest fixed(long prompt, long completion) {
    return ReservationRequest.fixed(prompt, 1, completion);
  }

  private static ReservationRequest flexible(long prompt, int choices, long min, long max) {
    return new ReservationRequest(prompt, choices, min, max);
  }

  private static Admitted admitted(Admission admission) {
    assertThat(admission).isInstanceOf(Admitted.class);
    return (Admitted) admission;
  }

  private static Rejected rejected(Admission admission) {
    assertThat(admission).isInstanceOf(Rejected.class);
    return (Rejected) admission;
  }
}
