package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Admission.Rejected;
import io.simpletokenlimiter.limit.CalendarMonth;
import io.simpletokenlimiter.limit.LeaseEvents;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.StrictTokenLimiter;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserLimits;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/**
 * What only the Redis store has, against a real Redis driven by a fake clock: key layout, expiry
 * and pruning, integer formatting of large numbers, the short retry hint passed from Java,
 * admissions going on off Lettuce's I/O thread. Every general rule is in {@code
 * LimitStoreContract}.
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

  @Test
  void theShortRetryHintComesFromJava() {
    store =
        new RedisLimitStore(
            new ReactiveStringRedisTemplate(connections), 2_500, Duration.ofSeconds(1));
    admitted(ReservationRequest.fixed(0, 1, 900), T0);
    admitted(ReservationRequest.fixed(0, 1, 50), T0);

    Rejected onlyLeasesInTheWay = rejected(ReservationRequest.fixed(0, 1, 100), T0);
    Rejected slotsTaken = rejected(ReservationRequest.fixed(0, 1, 10), T0);

    assertThat(onlyLeasesInTheWay.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(onlyLeasesInTheWay.retryAfterMillis()).isEqualTo(2_500);
    assertThat(slotsTaken.limitType()).isEqualTo(LimitType.CONCURRENT);
    assertThat(slotsTaken.retryAfterMillis()).isEqualTo(2_500);
  }

  @Test
  void theKeyExpiresSoAnIdleUserCostsNothing() {
    admitted(ReservationRequest.fixed(0, 1, 100), T0);
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0);
    String key = RedisLimitStore.key(user);

    long retention = Window.DAY.lengthMillis();
    // an hour more than needed, so that most writes need no PEXPIRE
    assertThat((Long) call(key, "PTTL", key))
        .isBetween(retention + TTL, retention + TTL + 3_600_000);
  }

  @Test
  void bucketsNoWindowCountsAreDeletedWhenALeaseEnds() {
    String key = RedisLimitStore.key(user);
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0);
    // t, x, one bucket per window, the month; the summaries: A, C, N and one per window
    assertThat(call(key, "HLEN", key)).isEqualTo(6L + 6);

    for (long at = T0; at < T0 + 3 * 3_600_000L; at += 13_000) {
      settleNew(ReservationRequest.fixed(0, 1, 1), 1, at);
    }

    // the minute's last 61 s hold 5 charges, the hour 61 buckets, 3 h 13 day buckets; t, x, the
    // month and the 6 summaries
    assertThat((Long) call(key, "HLEN", key)).isBetween(5L + 61 + 12 + 9, 5L + 61 + 13 + 9);
  }

  /**
   * A hash without summaries (written by an earlier version, or whose buckets a team move changed)
   * is read whole once and gets them back; nothing counted is lost meanwhile.
   */
  @Test
  void aHashWithoutSummariesIsReadWholeAndGetsThemBack() {
    String key = RedisLimitStore.key(user);
    settleNew(ReservationRequest.fixed(0, 1, 100), 400, T0);
    Admitted inFlight = admitted(ReservationRequest.fixed(0, 1, 100), T0 + 1_000);
    call(key, "HDEL", key, "A", "C", "N", "Sm", "Sh", "Sd");

    // 400 counted and 100 reserved: 500 of the minute's 1,000 left, so 600 does not fit
    Rejected overTheMinute = rejected(ReservationRequest.fixed(0, 1, 600), T0 + 2_000);
    assertThat(overTheMinute.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(overTheMinute.retryAfterMillis()).isEqualTo(58_000);
    Admitted fits = admitted(ReservationRequest.fixed(0, 1, 400), T0 + 2_000);
    assertThat(fits.quota().remainingTokens()).isEqualTo(100);

    assertThat(call(key, "HGET", key, "A")).isEqualTo("2:500:" + (T0 + 1_000 + TTL));
    assertThat(call(key, "HGET", key, "Sm")).isEqualTo(summary(Window.MINUTE, 400, T0 + 2_000));
    assertThat(store.settle(user, inFlight.leaseId(), 50, T0 + 3_000).block(BLOCK)).isTrue();
    assertThat(store.settle(user, fits.leaseId(), 50, T0 + 3_000).block(BLOCK)).isTrue();
    assertThat(usage(T0 + 3_000)).isEqualTo(new UsageSnapshot(500, 500, 500, 500, 0));
    assertThat(call(key, "HGET", key, "Sm")).isEqualTo(summary(Window.MINUTE, 500, T0 + 3_000));
  }

  @Test
  @SuppressWarnings("unchecked")
  void fieldsAreWholeNumbersEvenForLargeTimestamps() {
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0);
    String key = RedisLimitStore.key(user);

    long retention = Window.DAY.lengthMillis();
    assertThat((List<Object>) call(key, "HGETALL", key))
        .containsExactlyInAnyOrder(
            "t",
            Long.toString(T0),
            "x",
            Long.toString(T0 + TTL + retention + 3_600_000),
            bucket(Window.MINUTE, "m"),
            offset(Window.MINUTE) + ":100",
            bucket(Window.HOUR, "h"),
            offset(Window.HOUR) + ":100",
            bucket(Window.DAY, "d"),
            offset(Window.DAY) + ":100",
            "M:" + CalendarMonth.UTC.at(T0).startMillis(),
            "100",
            // the summaries: no lease, the latest charge, the month, each window's units
            "A",
            "0:0:0",
            "C",
            Long.toString(T0),
            "N",
            Long.toString(CalendarMonth.UTC.at(T0).startMillis()),
            "Sm",
            summary(Window.MINUTE, 100),
            "Sh",
            summary(Window.HOUR, 100),
            "Sd",
            summary(Window.DAY, 100));
    Admitted admitted = admitted(ReservationRequest.fixed(0, 1, 100), T0);
    assertThat(call(key, "HGET", key, "l:" + admitted.leaseId())).isEqualTo("100:" + (T0 + TTL));
  }

  private static String bucket(Window window, String prefix) {
    return prefix + ":" + window.bucketAt(T0);
  }

  /** "first:units:floor": a window's summary at T0, when nothing left it yet. */
  private static String summary(Window window, long units) {
    return summary(window, units, T0);
  }

  /** A window's summary written at {@code now}, when the buckets that left it are deleted. */
  private static String summary(Window window, long units, long now) {
    long edge = window.bucketAt(now - window.lengthMillis());
    return edge + ":" + units + ":" + edge;
  }

  private static long offset(Window window) {
    return T0 - window.bucketAt(T0) * window.bucketMillis();
  }

  @Test
  void anAdmissionGoesOnOnItsRequestsThreadNotLettuces() throws Exception {
    ExecutorService requestThread =
        Executors.newSingleThreadExecutor(task -> new Thread(task, "request-loop"));
    try {
      LeaseScope onRequestThread =
          new LeaseScope() {
            @Override
            public boolean isOpen() {
              return true;
            }

            @Override
            public void onClose(Runnable action) {}

            @Override
            public void resume(Runnable continuation) {
              requestThread.execute(continuation);
            }
          };
      StrictTokenLimiter limiter =
          new StrictTokenLimiter(
              store,
              new UserLimits(LIMITS, Map.of()),
              Clock.systemUTC(),
              Duration.ofMillis(TTL),
              Duration.ofMinutes(30),
              LeaseEvents.NONE);

      String admittedOn =
          limiter
              .admit(user, ReservationRequest.fixed(0, 1, 10), onRequestThread)
              .map(lease -> Thread.currentThread().getName())
              .block(BLOCK);
      // The store itself answers on Lettuce's I/O thread (lettuce-epollEventLoop-*, -nio-*).
      String repliedOn =
          store.usage(user, T0).map(usage -> Thread.currentThread().getName()).block(BLOCK);

      assertThat(repliedOn).startsWith("lettuce-");
      assertThat(admittedOn).isEqualTo("request-loop");
    } finally {
      requestThread.shutdownNow();
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void theLargestNumbersAreStoredAsWholeNumbers() {
    long max = Limits.MAX_TOKENS;
    Limits largest = new Limits(max, max, max, 2);

    Admitted first = admitted(ReservationRequest.fixed(1, 1, max - 2), T0, largest);
    String key = RedisLimitStore.key(user);
    assertThat(call(key, "HGET", key, "l:" + first.leaseId()))
        .isEqualTo("999999999999999:" + (T0 + TTL));

    assertThat(store.settle(user, first.leaseId(), max - 1, T0).block(BLOCK)).isTrue();
    assertThat(call(key, "HGET", key, bucket(Window.MINUTE, "m")))
        .isEqualTo(offset(Window.MINUTE) + ":999999999999999");
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
