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
import java.util.stream.Stream;
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
    // t, x, one bucket per window, the month; the two summaries
    assertThat(call(key, "HLEN", key)).isEqualTo(6L + 2);

    for (long at = T0; at < T0 + 3 * 3_600_000L; at += 13_000) {
      settleNew(ReservationRequest.fixed(0, 1, 1), 1, at);
    }

    // the minute's last 61 s hold 5 charges, the hour 61 buckets, 3 h 13 day buckets; t, x, the
    // month and the 2 summaries
    assertThat((Long) call(key, "HLEN", key)).isBetween(5L + 61 + 12 + 5, 5L + 61 + 13 + 5);
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
    call(key, "HDEL", key, "H", "W");

    // 400 counted and 100 reserved: 500 of the minute's 1,000 left, so 600 does not fit
    Rejected overTheMinute = rejected(ReservationRequest.fixed(0, 1, 600), T0 + 2_000);
    assertThat(overTheMinute.limitType()).isEqualTo(LimitType.MINUTE);
    assertThat(overTheMinute.retryAfterMillis()).isEqualTo(58_000);
    Admitted fits = admitted(ReservationRequest.fixed(0, 1, 400), T0 + 2_000);
    assertThat(fits.quota().remainingTokens()).isEqualTo(100);

    assertThat(head(key)).containsExactly(2L, 500L, T0 + 1_000 + TTL, T0, monthStart(T0));
    assertThat(window(key, Window.MINUTE)).isEqualTo(summary(Window.MINUTE, 400, T0 + 2_000));
    assertThat(store.settle(user, inFlight.leaseId(), 50, T0 + 3_000).block(BLOCK)).isTrue();
    assertThat(store.settle(user, fits.leaseId(), 50, T0 + 3_000).block(BLOCK)).isTrue();
    assertThat(usage(T0 + 3_000)).isEqualTo(new UsageSnapshot(500, 500, 500, 500, 0));
    // a settle only adds to the sums: each window's first bucket stays where the admission left it
    assertThat(window(key, Window.MINUTE)).isEqualTo(summary(Window.MINUTE, 500, T0 + 2_000));
  }

  /**
   * The text summaries an earlier version wrote ("A", "C", "N", one "S
   *
   * <p>" per window) are not read: the hash is read whole once, and they go with the packed ones'
   * first write.
   */
  @Test
  @SuppressWarnings("unchecked")
  void theTextSummariesOfAnEarlierVersionAreReplaced() {
    String key = RedisLimitStore.key(user);
    settleNew(ReservationRequest.fixed(0, 1, 100), 400, T0);
    call(key, "HDEL", key, "H", "W");
    call(key, "HSET", key, "A", "0:0:0", "C", Long.toString(T0), "N", "0", "Sm", "1:2:3");

    // 400 counted: 600 of the minute's 1,000 left
    Admitted admitted = admitted(ReservationRequest.fixed(0, 1, 100), T0 + 1_000);
    assertThat(admitted.quota().remainingTokens()).isEqualTo(500);

    assertThat((List<Object>) call(key, "HKEYS", key)).doesNotContain("A", "C", "N", "Sm");
    assertThat(head(key)).containsExactly(1L, 100L, T0 + 1_000 + TTL, T0, monthStart(T0));
    assertThat(window(key, Window.MINUTE)).isEqualTo(summary(Window.MINUTE, 400, T0 + 1_000));
  }

  /** Units past what a double holds exactly keep no summaries: each call reads the hash whole. */
  @Test
  void unitsPastWhatADoubleHoldsKeepNoSummaries() {
    long huge = 1L << 54;
    Limits unlimited = new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 2);
    String key = RedisLimitStore.key(user);

    settleNew(ReservationRequest.fixed(0, 1, 100), huge, T0, unlimited);
    assertThat(call(key, "HEXISTS", key, "H")).isEqualTo(0L);
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0 + 1_000, unlimited);

    assertThat(call(key, "HEXISTS", key, "W")).isEqualTo(0L);
    assertThat(usage(T0 + 1_000).minute()).isEqualTo(huge + 100);
  }

  @Test
  @SuppressWarnings("unchecked")
  void fieldsAreWholeNumbersEvenForLargeTimestamps() {
    settleNew(ReservationRequest.fixed(0, 1, 100), 100, T0);
    String key = RedisLimitStore.key(user);

    long retention = Window.DAY.lengthMillis();
    String month = "M:" + monthStart(T0);
    List<String> fields =
        List.of(
            "t",
            "x",
            bucket(Window.MINUTE, "m"),
            bucket(Window.HOUR, "h"),
            bucket(Window.DAY, "d"),
            month);
    assertThat((List<Object>) call(key, "HKEYS", key))
        .containsExactlyInAnyOrderElementsOf(
            Stream.concat(fields.stream(), Stream.of("H", "W")).toList());
    assertThat(
            (List<Object>)
                call(key, Stream.concat(Stream.of("HMGET", key), fields.stream()).toArray()))
        .containsExactly(
            Long.toString(T0),
            Long.toString(T0 + TTL + retention + 3_600_000),
            offset(Window.MINUTE) + ":100",
            offset(Window.HOUR) + ":100",
            offset(Window.DAY) + ":100",
            "100");
    // the summaries: no lease, the latest charge, the month; each window's units
    assertThat(head(key)).containsExactly(0L, 0L, 0L, T0, monthStart(T0));
    for (Window window : Window.values()) {
      assertThat(window(key, window)).isEqualTo(summary(window, 100));
    }
    Admitted admitted = admitted(ReservationRequest.fixed(0, 1, 100), T0);
    assertThat(call(key, "HGET", key, "l:" + admitted.leaseId())).isEqualTo("100:" + (T0 + TTL));
  }

  private static String bucket(Window window, String prefix) {
    return prefix + ":" + window.bucketAt(T0);
  }

  private static long monthStart(long now) {
    return CalendarMonth.UTC.at(now).startMillis();
  }

  /** First bucket, units, floor: a window's summary at T0, when nothing left it yet. */
  private static List<Long> summary(Window window, long units) {
    return summary(window, units, T0);
  }

  /** A window's summary written at {@code now}, when the buckets that left it are deleted. */
  private static List<Long> summary(Window window, long units, long now) {
    long edge = window.bucketAt(now - window.lengthMillis());
    return List.of(edge, units, edge);
  }

  /** "H": lease count, reserved units, no lease expires before; latest charge; month written. */
  private List<Long> head(String key) {
    return unpacked(key, "H", 5);
  }

  /** {@code window}'s part of "W": its first bucket, units and floor. */
  private List<Long> window(String key, Window window) {
    int at = 3 * window.ordinal();
    return unpacked(key, "W", 3 * Window.values().length).subList(at, at + 3);
  }

  /** A summary's packed numbers, unpacked by Redis's own struct library. */
  @SuppressWarnings("unchecked")
  private List<Long> unpacked(String key, String field, int count) {
    String unpack =
        "return {struct.unpack('<' .. string.rep('i7', ARGV[2]),"
            + " redis.call('HGET', KEYS[1], ARGV[1]))}";
    List<Long> numbers = (List<Long>) call(key, "EVAL", unpack, "1", key, field, "" + count);
    // struct.unpack's last value is the position where it stopped
    return numbers.subList(0, count);
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
