package io.simpletokenlimiter.limit.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.Window;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Property tests of the window arithmetic against a brute-force model that keeps every charge with
 * its exact time, over many random histories, for every store. Each case is a seed, so a failure
 * names the history that broke it; a store that is slow to drive (Redis) runs fewer seeds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class RollingWindowProperties {

  private static final long T0 = 1_800_000_000_000L;
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final Limits UNLIMITED =
      new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 1_000);

  private record Charge(long atMillis, long tokens) {}

  /** The store under test; every case uses a user of its own. */
  protected abstract LimitStore store();

  /** How many random histories to try. */
  protected abstract int tries();

  /** The most charges one history has. */
  protected abstract int maxCharges();

  Stream<Long> seeds() {
    return LongStream.rangeClosed(1, tries()).boxed();
  }

  /**
   * The store's count is never below the exact rolling sum of the charges (never under-counts) and
   * never above the sum over one more bucket span (a bucket is counted until a window after its
   * latest charge, so its earlier charges at most one span older stay that long).
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void neverUnderCountsAndOverCountsByAtMostOneBucket(long seed) {
    Random random = new Random(seed);
    String user = user();
    List<Charge> history = randomHistory(random, user);
    long now = history.get(history.size() - 1).atMillis();

    for (int query = 0; query < 20; query++) {
      now += random.nextInt(4) == 0 ? random.nextLong(90_000_000) : random.nextLong(120_000);
      UsageSnapshot usage = store().usage(user, now).block(TIMEOUT);
      for (Window window : Window.values()) {
        long exact = exactly(history, window, now);
        long loose = withOneMoreBucket(history, window, now);
        assertThat(usage.tokens(window))
            .as("seed %d, %s window at +%d ms", seed, window, now - T0)
            .isBetween(exact, loose);
      }
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void retryAfterIsExactToTheMillisecond(long seed) {
    Random random = new Random(seed);
    String user = user();
    List<Charge> history = randomHistory(random, user);
    long now = history.get(history.size() - 1).atMillis() + random.nextLong(60_000);
    // Limits just above what is counted now, and a cost larger than the least room left.
    UsageSnapshot before = store().usage(user, now).block(TIMEOUT);
    Limits limits =
        new Limits(
            before.minute() + 1 + random.nextLong(3_000),
            before.hour() + 1 + random.nextLong(3_000),
            before.day() + 1 + random.nextLong(3_000),
            1_000);
    long smallestLimit =
        Math.min(limits.tokensPerMinute(), Math.min(limits.tokensPerHour(), limits.tokensPerDay()));
    long leastRoom = Long.MAX_VALUE;
    for (Window window : Window.values()) {
      leastRoom = Math.min(leastRoom, limits.tokens(window) - before.tokens(window));
    }
    // A cost above a whole limit could never fit: the limiter answers that before the store.
    long cost = Math.min(smallestLimit, leastRoom + 1 + random.nextLong(1_000));
    Admission admission = admit(user, limits, cost, now);
    if (cost <= leastRoom) {
      assertThat(admission).as("seed %d", seed).isInstanceOf(Admission.Admitted.class);
      return;
    }
    Admission.Rejected rejected = (Admission.Rejected) admission;
    long retry = rejected.retryAfterMillis();
    assertThat(retry).as("seed %d", seed).isPositive();
    Window blocking = Window.valueOf(rejected.limitType().name());
    assertThat(retry)
        .as("seed %d: retry after within the %s window", seed, blocking)
        .isLessThanOrEqualTo(blocking.lengthMillis());
    // The exact model (every charge at its own time) fits at the retry too: never under-counted.
    for (Window window : Window.values()) {
      assertThat(servedWithin(history, now + retry - window.lengthMillis(), now + retry) + cost)
          .as("seed %d: exact %s usage at the retry", seed, window)
          .isLessThanOrEqualTo(limits.tokens(window));
    }
    UsageSnapshot justBefore = store().usage(user, now + retry - 1).block(TIMEOUT);
    assertThat(fits(justBefore, limits, cost)).as("seed %d: fits before retry", seed).isFalse();
    UsageSnapshot atRetry = store().usage(user, now + retry).block(TIMEOUT);
    assertThat(fits(atRetry, limits, cost)).as("seed %d: fits at retry", seed).isTrue();
    assertThat(admit(user, limits, cost, now + retry)).isInstanceOf(Admission.Admitted.class);
  }

  /**
   * What an admission counts (Redis: from the summaries it keeps beside the buckets) is what a
   * whole read of the buckets counts, after any history and any pause: its remaining units are the
   * limit less the usage and its own reservation.
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void anAdmissionCountsWhatTheWholeWindowHolds(long seed) {
    Random random = new Random(seed);
    String user = user();
    List<Charge> history = randomHistory(random, user);
    long now = history.get(history.size() - 1).atMillis();
    long limit = 1_000_000_000L;

    for (int query = 0; query < 12; query++) {
      now +=
          switch (random.nextInt(4)) {
            case 0 -> random.nextLong(3_000);
            case 1 -> random.nextLong(70_000);
            case 2 -> random.nextLong(4_000_000);
            default -> random.nextLong(90_000_000);
          };
      Window window = Window.values()[random.nextInt(Window.values().length)];
      UsageSnapshot usage = store().usage(user, now).block(TIMEOUT);
      long exact = exactly(history, window, now);
      long loose = withOneMoreBucket(history, window, now);

      Admission.Admitted probe = (Admission.Admitted) admit(user, onlyThe(window, limit), 1, now);

      assertThat(probe.quota().remainingTokens())
          .as("seed %d, %s window at +%d ms", seed, window, now - T0)
          .isEqualTo(limit - usage.tokens(window) - 1)
          .isBetween(limit - loose - 1, limit - exact - 1);
      assertThat(probe.holder().settle(user, probe.leaseId(), 0, now).block(TIMEOUT)).isTrue();
      long tokens = random.nextLong(2_000);
      charge(user, tokens, now, random);
      history.add(new Charge(now, tokens));
    }
  }

  private static Limits onlyThe(Window window, long limit) {
    return new Limits(
        window == Window.MINUTE ? limit : Limits.UNLIMITED,
        window == Window.HOUR ? limit : Limits.UNLIMITED,
        window == Window.DAY ? limit : Limits.UNLIMITED,
        1_000);
  }

  private List<Charge> randomHistory(Random random, String user) {
    List<Charge> history = new ArrayList<>();
    long at = T0 + random.nextLong(900_000);
    int charges = 1 + random.nextInt(maxCharges());
    for (int i = 0; i < charges; i++) {
      at += random.nextInt(5) == 0 ? random.nextLong(3_600_000) : random.nextLong(5_000);
      long tokens = random.nextLong(2_000);
      charge(user, tokens, at, random);
      history.add(new Charge(at, tokens));
    }
    return history;
  }

  /**
   * Charges {@code tokens} at {@code at}: served by a request, or one time in four written back
   * from an outage ({@link LimitStore#chargeOnce}), then and again sent a second time, which must
   * count nothing.
   */
  private void charge(String user, long tokens, long at, Random random) {
    if (random.nextInt(4) == 0) {
      String id = UUID.randomUUID().toString();
      store().chargeOnce(user, id, tokens, at).block(TIMEOUT);
      if (random.nextBoolean()) {
        store().chargeOnce(user, id, tokens, at + random.nextLong(2_000)).block(TIMEOUT);
      }
      return;
    }
    Admission.Admitted admitted = (Admission.Admitted) admit(user, UNLIMITED, 1, at);
    admitted.holder().settle(user, admitted.leaseId(), tokens, at).block(TIMEOUT);
  }

  private Admission admit(String user, Limits limits, long cost, long now) {
    ReservationRequest request = ReservationRequest.fixed(cost - 1, 1, 1);
    return store()
        .admit(new AdmitCommand(user, UUID.randomUUID().toString(), request, limits, now, 60_000))
        .block(TIMEOUT);
  }

  private static String user() {
    return "prop-" + UUID.randomUUID();
  }

  private static boolean fits(UsageSnapshot usage, Limits limits, long cost) {
    for (Window window : Window.values()) {
      if (usage.tokens(window) + cost > limits.tokens(window)) {
        return false;
      }
    }
    return true;
  }

  /** What the window holds at {@code now}, every charge counted at its own time. */
  private static long exactly(List<Charge> history, Window window, long now) {
    return servedWithin(history, now - window.lengthMillis(), now);
  }

  /** The most a store may count: the window one bucket span longer. */
  private static long withOneMoreBucket(List<Charge> history, Window window, long now) {
    return servedWithin(history, now - window.lengthMillis() - window.bucketMillis(), now);
  }

  /** Tokens charged strictly after {@code fromExclusive} and at or before {@code to}. */
  private static long servedWithin(List<Charge> history, long fromExclusive, long to) {
    return history.stream()
        .filter(c -> c.atMillis() > fromExclusive && c.atMillis() <= to)
        .mapToLong(Charge::tokens)
        .sum();
  }
}
