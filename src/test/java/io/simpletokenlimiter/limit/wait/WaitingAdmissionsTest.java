package io.simpletokenlimiter.limit.wait;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.RateLimitedException;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.StrictTokenLimiter;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.testing.MutableClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.scheduler.Schedulers;

/**
 * The waiting layer over the real limiter and the memory store: one slot per user, so that who goes
 * next is decided by settles, which wake a user's queue at once.
 */
class WaitingAdmissionsTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final ReservationRequest SMALL = ReservationRequest.fixed(10, 1, 10);

  private final MutableClock clock = new MutableClock(1_800_000_000_000L);
  private final MemoryLimitStore store = new MemoryLimitStore();
  private final LocalSettles settles = new LocalSettles();

  private WaitingAdmissions admissions(Optional<Integer> capacity) {
    StrictTokenLimiter limiter =
        new StrictTokenLimiter(
            store,
            userId ->
                new Limits(
                    Limits.UNLIMITED,
                    Limits.UNLIMITED,
                    Limits.UNLIMITED,
                    userId.startsWith("gold") || userId.startsWith("free") ? 10 : 1),
            clock,
            Duration.ofSeconds(30),
            Duration.ofMinutes(30),
            settles);
    return WaitingAdmissions.over(
        limiter,
        settles,
        new WaitingAdmissions.Settings(
            10,
            100,
            capacity.map(
                size ->
                    new WaitingAdmissions.CapacitySettings(
                        size, store, clock, Duration.ofSeconds(30), Duration.ofMinutes(30)))),
        userId -> userId.equals("gold") ? 2 : 1,
        (outcome, waited) -> {},
        Schedulers.parallel());
  }

  @Test
  void aUsersWaitingRequestsGoInArrivalOrderAsSlotsSettle() throws Exception {
    WaitingAdmissions admissions = admissions(Optional.empty());
    Lease first = admissions.admit("ann", SMALL, LeaseScope.UNBOUNDED, WAIT).block();
    CompletableFuture<Lease> second = admit(admissions, "ann");
    CompletableFuture<Lease> third = admit(admissions, "ann");
    assertThat(admissions.waiting()).isEqualTo(2);

    first.settle(new TokenUsage(10, 10)).block();
    Lease admitted = second.get(5, TimeUnit.SECONDS);
    assertThat(third).isNotDone();

    admitted.settle(new TokenUsage(10, 10)).block();
    assertThat(third.get(5, TimeUnit.SECONDS)).isNotNull();
    assertThat(admissions.waiting()).isZero();
  }

  @Test
  void withoutAWaitTheAnswerIsTheLimitersOwn() {
    WaitingAdmissions admissions = admissions(Optional.empty());
    admissions.admit("bob", SMALL, LeaseScope.UNBOUNDED, WAIT).block();

    CompletableFuture<Lease> rejected =
        admissions.admit("bob", SMALL, LeaseScope.UNBOUNDED, Duration.ZERO).toFuture();

    assertThat(rejected)
        .failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause()
        .isInstanceOfSatisfying(
            RateLimitedException.class,
            e -> assertThat(e.rejection().limitType()).isEqualTo(LimitType.CONCURRENT));
    assertThat(admissions.waiting()).isZero();
  }

  @Test
  void aRequestWhoseCallerLeavesLeavesTheQueue() throws Exception {
    WaitingAdmissions admissions = admissions(Optional.empty());
    Lease first = admissions.admit("cat", SMALL, LeaseScope.UNBOUNDED, WAIT).block();
    Disposable gone = admissions.admit("cat", SMALL, LeaseScope.UNBOUNDED, WAIT).subscribe();
    CompletableFuture<Lease> next = admit(admissions, "cat");
    assertThat(admissions.waiting()).isEqualTo(2);

    gone.dispose();
    assertThat(admissions.waiting()).isEqualTo(1);
    first.release().block();

    assertThat(next.get(5, TimeUnit.SECONDS)).isNotNull();
    assertThat(store.usage("cat", clock.millis()).block().inFlight()).isEqualTo(1);
  }

  @Test
  void theModelsSlotsGoInTurnsWeightedByShare() throws Exception {
    WaitingAdmissions admissions = admissions(Optional.of(1));
    Lease holder = admissions.admit("holder", SMALL, LeaseScope.UNBOUNDED, WAIT).block();
    List<CompletableFuture<Lease>> waiting = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      waiting.add(admit(admissions, "gold"));
      waiting.add(admit(admissions, "free"));
    }
    assertThat(admissions.waiting()).isEqualTo(6);

    List<String> turns = new ArrayList<>();
    Lease running = holder;
    while (!waiting.isEmpty()) {
      running.release().block();
      CompletableFuture<Lease> next =
          await()
              .atMost(Duration.ofSeconds(5))
              .until(
                  () -> waiting.stream().filter(CompletableFuture::isDone).toList(),
                  done -> !done.isEmpty())
              .get(0);
      assertThat(waiting.stream().filter(CompletableFuture::isDone)).hasSize(1);
      waiting.remove(next);
      running = next.get();
      turns.add(running.userId());
    }
    running.release().block();

    // Gold's share is 2: two turns in a row, then free's one, until gold has nothing left.
    assertThat(turns).containsExactly("gold", "gold", "free", "gold", "free", "free");
  }

  private static CompletableFuture<Lease> admit(WaitingAdmissions admissions, String user) {
    return admissions.admit(user, SMALL, LeaseScope.UNBOUNDED, WAIT).toFuture();
  }
}
