package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TokenWeights;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.Ledgers;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.StoreFullException;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/** The outage policy around a primary store that can be switched off, fail fast or hang. */
@Timeout(30)
class ResilientLimitStoreTest {

  private static final long NOW = 1_800_000_000_000L;
  private static final Limits LIMITS = new Limits(1_000, 10_000, 100_000, 5);
  private static final Duration BLOCK = Duration.ofSeconds(5);
  private static final Duration TIMEOUT = Duration.ofMillis(100);
  private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);

  private final SwitchableStore primary = new SwitchableStore();
  private final MemoryLimitStore memory = new MemoryLimitStore();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final CircuitBreaker breaker =
      CircuitBreaker.of(
          "redis",
          CircuitBreakerConfig.custom()
              .slidingWindowSize(4)
              .minimumNumberOfCalls(4)
              .failureRateThreshold(50)
              .waitDurationInOpenState(Duration.ofHours(1))
              .build());

  @Test
  void aHealthyPrimaryDecidesAlone() {
    ResilientLimitStore store = withFallback();

    Admitted admitted = admitted(store.admit(command("alice")).block(BLOCK));
    assertThat(admitted.holder()).isSameAs(store);
    assertThat(store.settle("alice", admitted.leaseId(), 30, NOW).block(BLOCK)).isTrue();

    assertThat(primary.delegate.usage("alice", NOW).block(BLOCK).minute()).isEqualTo(30);
    assertThat(memory.usage("alice", NOW).block(BLOCK)).isEqualTo(UsageSnapshot.EMPTY);
    assertThat(degradedDecisions()).isZero();
    assertThat(breakerGauge("closed")).isEqualTo(1);
  }

  @Test
  void whenThePrimaryFailsTheFallbackDecidesAndKeepsItsLeases() {
    ResilientLimitStore store = withFallback();
    primary.mode = Mode.FAIL;

    Admitted admitted = admitted(store.admit(command("alice")).block(BLOCK));
    primary.mode = Mode.UP;
    assertThat(admitted.holder()).isSameAs(memory);
    assertThat(admitted.holder().renew("alice", admitted.leaseId(), NOW, 30_000).block(BLOCK))
        .isTrue();
    assertThat(admitted.holder().settle("alice", admitted.leaseId(), 40, NOW).block(BLOCK))
        .isTrue();

    assertThat(memory.usage("alice", NOW).block(BLOCK).minute()).isEqualTo(40);
    assertThat(primary.delegate.usage("alice", NOW).block(BLOCK)).isEqualTo(UsageSnapshot.EMPTY);
    assertThat(degradedDecisions()).isEqualTo(1);
    // the primary never knew the lease
    assertThat(store.settle("alice", admitted.leaseId(), 40, NOW).block(BLOCK)).isFalse();
  }

  @Test
  void aSlowPrimaryIsCutShortByTheTimeoutButMemoryDoesNotDecideUntilTheBreakerOpens() {
    ResilientLimitStore store = withFallback();
    primary.mode = Mode.HANG;

    assertThatThrownBy(() -> store.admit(command("alice")).block(BLOCK))
        .isInstanceOf(StoreUnavailableException.class);
    assertThat(degradedDecisions()).isZero();
    assertThat(registry.counter("limiter.redis.errors", "operation", "admit").count()).isEqualTo(1);

    await().atMost(Duration.ofSeconds(10)).until(() -> admitsWithoutError(store));
    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(degradedDecisions()).isEqualTo(1);
  }

  @Test
  void aRankingNeitherCountsAgainstTheBreakerNorIsCutByTheCommandTimeout() {
    ResilientLimitStore store = withFallback();
    admitted(store.admit(command("alice")).block(BLOCK));
    primary.mode = Mode.FAIL;

    for (int i = 0; i < 10; i++) {
      // the fallback ranks while the shared store fails: it knows nobody
      assertThat(store.top(Window.DAY, 5, NOW).block(BLOCK)).isEmpty();
    }
    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.CLOSED);

    primary.mode = Mode.UP;
    primary.delay = TIMEOUT.multipliedBy(3);
    assertThat(store.top(Window.DAY, 5, NOW).block(BLOCK))
        .extracting(UserUsage::userId)
        .containsExactly("alice");
  }

  @Test
  void whileTheSharedStoreIsDownTheFallbackRanksButForgettingFails() {
    ResilientLimitStore store = withFallback();
    primary.mode = Mode.FAIL;
    await().atMost(Duration.ofSeconds(10)).until(() -> admitsWithoutError(store));

    assertThat(store.top(Window.DAY, 5, NOW).block(BLOCK))
        .extracting(UserUsage::userId)
        .containsExactly("alice");
    assertThatThrownBy(() -> store.forget("alice", NOW).block(BLOCK))
        .isInstanceOf(StoreUnavailableException.class);
  }

  @Test
  void failClosedHasNoRankingWhileTheSharedStoreIsDown() {
    ResilientLimitStore store = ResilientLimitStore.failClosed(primary, TIMEOUT, breaker, registry);
    primary.mode = Mode.FAIL;

    assertThatThrownBy(() -> store.top(Window.DAY, 5, NOW).block(BLOCK))
        .isInstanceOf(StoreUnavailableException.class);
  }

  private static boolean admitsWithoutError(ResilientLimitStore store) {
    try {
      return store.admit(command("alice")).block(BLOCK) instanceof Admitted;
    } catch (StoreUnavailableException stillDeciding) {
      return false;
    }
  }

  @Test
  void failClosedRefusesToDecide() {
    ResilientLimitStore store = ResilientLimitStore.failClosed(primary, TIMEOUT, breaker, registry);
    primary.mode = Mode.FAIL;

    assertThatThrownBy(() -> store.admit(command("alice")).block(BLOCK))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("admit");
    assertThatThrownBy(() -> store.usage("alice", NOW).block(BLOCK))
        .isInstanceOf(StoreUnavailableException.class);
    assertThat(registry.counter("limiter.degraded.decisions", "policy", "fail-closed").count())
        .isEqualTo(1);
  }

  /**
   * The scripts ran, their answers came too late: each lease is released in the primary, that of
   * the admission whose timeout opened the breaker too. Else they would hold their slots and be
   * charged their reservations until they expire.
   */
  @Test
  void admissionsThePrimaryRecordedButDidNotAnswerInTimeAreReleasedThere() {
    ResilientLimitStore store = withFallback();
    primary.mode = Mode.LATE;

    for (int i = 0; i < 4; i++) {
      assertThatThrownBy(() -> store.admit(command("alice")).block(BLOCK))
          .isInstanceOf(StoreUnavailableException.class);
    }
    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);

    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () ->
                assertThat(primary.delegate.usage("alice", NOW).block(BLOCK))
                    .isEqualTo(UsageSnapshot.EMPTY));
    assertThat(primary.admits.get()).isEqualTo(4);
  }

  @Test
  void theOpenBreakerStopsCallingTheDeadPrimary() {
    ResilientLimitStore store = withFallback();
    primary.mode = Mode.FAIL;

    for (int i = 0; i < 10; i++) {
      assertThat(store.admit(command("user-" + i)).block(BLOCK)).isInstanceOf(Admitted.class);
    }

    assertThat(primary.admits.get()).isEqualTo(4);
    // refused at once, they never ran: nothing to release
    assertThat(primary.settles.get()).isZero();
    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(breakerGauge("open")).isEqualTo(1);
    assertThat(breakerGauge("closed")).isZero();
    assertThat(degradedDecisions()).isEqualTo(10);
  }

  @Test
  void theBreakerClosesAgainWhenThePrimaryAnswersItsProbes() {
    CircuitBreaker quick =
        CircuitBreaker.of(
            "redis",
            CircuitBreakerConfig.custom()
                .slidingWindowSize(2)
                .minimumNumberOfCalls(2)
                .waitDurationInOpenState(Duration.ofMillis(50))
                .permittedNumberOfCallsInHalfOpenState(1)
                .build());
    ResilientLimitStore store =
        ResilientLimitStore.withFallback(primary, memory, () -> 1, CLOCK, TIMEOUT, quick, registry);
    primary.mode = Mode.FAIL;
    store.admit(command("alice")).block(BLOCK);
    store.admit(command("alice")).block(BLOCK);
    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);
    primary.mode = Mode.UP;

    long deadline = System.nanoTime() + BLOCK.toNanos();
    while (store.breakerState() != CircuitBreaker.State.CLOSED && System.nanoTime() < deadline) {
      store.usage("alice", NOW).block(BLOCK);
      Thread.onSpinWait();
    }

    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.CLOSED);
    Admitted admitted = admitted(store.admit(command("bob")).block(BLOCK));
    assertThat(store.settle("bob", admitted.leaseId(), 7, NOW).block(BLOCK)).isTrue();
    assertThat(primary.delegate.usage("bob", NOW).block(BLOCK).minute()).isEqualTo(7);
  }

  @Test
  void aPrimaryLeaseCannotBeSettledWhileThePrimaryIsDown() {
    ResilientLimitStore store = withFallback();
    Admitted admitted = admitted(store.admit(command("alice")).block(BLOCK));
    primary.mode = Mode.FAIL;

    assertThatThrownBy(() -> store.settle("alice", admitted.leaseId(), 10, NOW).block(BLOCK))
        .isInstanceOf(StoreUnavailableException.class);
    assertThatThrownBy(() -> store.renew("alice", admitted.leaseId(), NOW, 1).block(BLOCK))
        .isInstanceOf(StoreUnavailableException.class);
    assertThat(memory.usage("alice", NOW).block(BLOCK)).isEqualTo(UsageSnapshot.EMPTY);
  }

  /**
   * Nobody waits for a settle or a renewal: the breaker, open on other calls' timeouts, does not
   * refuse them, else the lease would hold its slot until it expired, charged its reservation.
   */
  @Test
  void aPrimaryLeaseIsSettledAndRenewedThereWhileTheBreakerIsOpen() {
    ResilientLimitStore store = withFallback();
    Admitted admitted = admitted(store.admit(command("alice")).block(BLOCK));
    breaker.transitionToOpenState();

    assertThat(store.renew("alice", admitted.leaseId(), NOW, 30_000).block(BLOCK)).isTrue();
    assertThat(store.settle("alice", admitted.leaseId(), 10, NOW).block(BLOCK)).isTrue();

    assertThat(primary.delegate.usage("alice", NOW).block(BLOCK))
        .isEqualTo(new UsageSnapshot(10, 10, 10, 10, 0));
    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void usageFallsBackToThisReplicasCountsUnderTheFallbackPolicy() {
    ResilientLimitStore store = withFallback();
    primary.mode = Mode.FAIL;
    Admitted admitted = admitted(store.admit(command("alice")).block(BLOCK));
    admitted.holder().settle("alice", admitted.leaseId(), 25, NOW).block(BLOCK);

    assertThat(store.usage("alice", NOW).block(BLOCK).minute()).isEqualTo(25);
    assertThat(store.policy()).isEqualTo(OutagePolicy.FALLBACK_MEMORY);
  }

  private ResilientLimitStore withFallback() {
    return replica(memory, breaker, 1);
  }

  /** One replica of {@code replicas} on the shared primary, with its own memory and breaker. */
  private ResilientLimitStore replica(
      LimitStore ownMemory, CircuitBreaker ownBreaker, int replicas) {
    return ResilientLimitStore.withFallback(
        primary, ownMemory, () -> replicas, CLOCK, TIMEOUT, ownBreaker, registry);
  }

  @Test
  void aUserSpentBeforeTheOutageGetsNothingDuringIt() {
    ResilientLimitStore store = withFallback();
    Admitted spent =
        admitted(store.admit(command("alice", ReservationRequest.fixed(100, 1, 900))).block(BLOCK));
    store.settle("alice", spent.leaseId(), 1_000, NOW).block(BLOCK);
    store.admit(command("alice", ReservationRequest.fixed(10, 1, 1))).block(BLOCK);

    primary.mode = Mode.FAIL;

    Admission during =
        store.admit(command("alice", ReservationRequest.fixed(1, 1, 1))).block(BLOCK);
    assertThat(during).isInstanceOf(Admission.Rejected.class);
    assertThat(((Admission.Rejected) during).limitType()).isEqualTo(LimitType.MINUTE);
  }

  @Test
  void aUserWithHalfTheLimitLeftGetsAtMostThatHalfAcrossAllReplicas() {
    ResilientLimitStore a = replica(memory, breaker, 2);
    ResilientLimitStore b = replica(new MemoryLimitStore(), freshBreaker(), 2);
    Admitted half =
        admitted(a.admit(command("bob", ReservationRequest.fixed(100, 1, 400))).block(BLOCK));
    a.settle("bob", half.leaseId(), 500, NOW).block(BLOCK);
    // Each replica has seen bob's last answer from the primary: 490 left after a 10-token ask.
    for (ResilientLimitStore replica : List.of(a, b)) {
      Admitted probe =
          admitted(replica.admit(command("bob", ReservationRequest.fixed(5, 1, 5))).block(BLOCK));
      probe.holder().settle("bob", probe.leaseId(), 0, NOW).block(BLOCK);
    }

    primary.mode = Mode.FAIL;
    long served = 0;
    for (int i = 0; i < 40; i++) {
      for (ResilientLimitStore replica : List.of(a, b)) {
        Admission admission =
            replica.admit(command("bob", ReservationRequest.fixed(10, 1, 15))).block(BLOCK);
        if (admission instanceof Admitted admitted) {
          served += admitted.reservedTokens();
          admitted.holder().settle("bob", admitted.leaseId(), 25, NOW).block(BLOCK);
        }
      }
    }

    assertThat(served).isPositive().isLessThanOrEqualTo(500);
  }

  @Test
  void aUserNeverSeenGetsItsShareOfTheWholeLimit() {
    ResilientLimitStore store = replica(memory, breaker, 4);
    primary.mode = Mode.FAIL;

    assertThat(store.admit(command("carol", ReservationRequest.fixed(100, 1, 150))).block(BLOCK))
        .isInstanceOf(Admitted.class);
    assertThat(store.admit(command("carol", ReservationRequest.fixed(0, 1, 1))).block(BLOCK))
        .isInstanceOf(Admission.Rejected.class);
  }

  @Test
  void whatTheOutageAdmittedIsWrittenBackWhenThePrimaryReturns() {
    ResilientLimitStore store = withFallback();
    primary.mode = Mode.FAIL;
    Admitted outage =
        admitted(store.admit(command("dave", ReservationRequest.fixed(10, 1, 90))).block(BLOCK));
    outage.holder().settle("dave", outage.leaseId(), 40, NOW).block(BLOCK);

    primary.mode = Mode.UP;
    breaker.transitionToOpenState();
    breaker.transitionToHalfOpenState();
    breaker.transitionToClosedState();

    // The outage's reservation, never less than what was served.
    await()
        .atMost(BLOCK)
        .until(() -> primary.delegate.usage("dave", NOW).block(BLOCK).minute() == 100);
  }

  /**
   * A replica that gets no request once the primary is back: its breaker half-opens by itself, and
   * its own probes close it, so that what its outage admitted is written back all the same.
   */
  @Test
  void aReplicaWithoutTrafficWritesTheOutageBackOnceThePrimaryAnswers() {
    ResilientLimitStore store = replica(memory, halfOpensSoon("redis-soon"), 1);
    servedInOutage(store, "erin");
    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);

    primary.mode = Mode.UP;

    awaitWrittenBack(store, "erin");
  }

  /**
   * A replica that gets no request once the primary is back, with nothing to write back, under
   * either policy: its own probes close its breaker, so its next request goes to the primary.
   */
  @Test
  void aReplicaWithoutTrafficGoesBackToThePrimaryOnceItAnswers() {
    ResilientLimitStore withFallback = replica(memory, halfOpensSoon("redis-idle"), 1);
    ResilientLimitStore failClosed =
        ResilientLimitStore.failClosed(
            primary, TIMEOUT, halfOpensSoon("redis-idle-closed"), registry);
    primary.mode = Mode.FAIL;
    for (ResilientLimitStore store : List.of(withFallback, failClosed)) {
      // One failed read opens it (and it half-opens 200 ms later by itself).
      store
          .usage("olga", NOW)
          .onErrorResume(StoreUnavailableException.class, down -> Mono.empty())
          .block(BLOCK);
      assertThat(store.breakerState()).isNotEqualTo(CircuitBreaker.State.CLOSED);
    }

    primary.mode = Mode.UP;

    for (ResilientLimitStore store : List.of(withFallback, failClosed)) {
      await().atMost(BLOCK).until(() -> store.breakerState() == CircuitBreaker.State.CLOSED);
    }
  }

  /** A write-back that fails is tried again while Redis answers, not only after the next outage. */
  @Test
  void aWriteBackThatFailsIsTriedAgain() {
    ResilientLimitStore store = replica(memory, halfOpensSoon("redis-retrying"), 1);
    servedInOutage(store, "gus");
    // Redis answers again, but refuses the write-back's first charge.
    primary.failingCharges.set(1);
    primary.mode = Mode.UP;

    awaitWrittenBack(store, "gus");
    assertThat(primary.failingCharges).hasValueLessThanOrEqualTo(0);
  }

  /**
   * A fallback admission still being decided when the outage is written back: the write-back took
   * its reservation, so the give-back when this replica's memory refuses it must not leave the user
   * owed room (a count below zero) for the next outage.
   */
  @Test
  void aGiveBackAfterTheWriteBackTookTheReservationLeavesNoRoomOwed() {
    SwitchableStore slowMemory = new SwitchableStore();
    for (int i = 0; i < LIMITS.maxConcurrent(); i++) {
      admitted(slowMemory.delegate.admit(command("hal")).block(BLOCK));
    }
    slowMemory.delay = Duration.ofMillis(300);
    RememberingFallback fallback = new RememberingFallback(slowMemory, () -> 1, CLOCK);

    Mono<Admission> deciding = fallback.admit(command("hal")).cache();
    deciding.subscribe();
    fallback.writeBack(primary, BLOCK).block(BLOCK);

    assertThat(primary.delegate.usage("hal", NOW).block(BLOCK).minute()).isEqualTo(100);
    assertThat(deciding.block(BLOCK)).isInstanceOf(Admission.Rejected.class);
    assertThat(fallback.pendingWriteBack()).isZero();
  }

  /**
   * A Redis that refuses every user's write-back: one warning for the pass, not one per user (a
   * busy replica's outage holds thousands), and every user's tokens kept for the next pass.
   */
  @Test
  void aWriteBackRedisRefusesWarnsOncePerPassAndKeepsEveryUsersTokens() {
    RememberingFallback fallback = new RememberingFallback(memory, () -> 1, CLOCK);
    List<String> users = List.of("ida", "jon", "kim");
    for (String user : users) {
      admitted(fallback.admit(command(user)).block(BLOCK));
    }
    Logger logger = (Logger) LoggerFactory.getLogger(OutageGrants.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    try {
      primary.mode = Mode.FAIL;
      fallback.writeBack(primary, BLOCK).block(BLOCK);

      assertThat(logs.list)
          .filteredOn(event -> event.getLevel() == Level.WARN)
          .singleElement()
          .extracting(ILoggingEvent::getFormattedMessage)
          .asString()
          .contains("300 outage tokens of 3 users");
      assertThat(fallback.pendingWriteBack()).isEqualTo(300);

      primary.mode = Mode.UP;
      fallback.writeBack(primary, BLOCK).block(BLOCK);
    } finally {
      logger.detachAppender(logs);
    }
    assertThat(fallback.pendingWriteBack()).isZero();
    for (String user : users) {
      assertThat(primary.delegate.usage(user, NOW).block(BLOCK).minute()).isEqualTo(100);
    }
    assertThat(logs.list).filteredOn(event -> event.getLevel() == Level.WARN).hasSize(1);
  }

  /**
   * A write-back Redis applied but whose answer never came (a stall right after the outage): the
   * next try sends the same charge, and Redis counts it once.
   */
  @Test
  void aWriteBackWhoseAnswerWasLostIsCountedOnce() {
    RememberingFallback fallback = new RememberingFallback(memory, () -> 1, CLOCK);
    admitted(fallback.admit(command("lea")).block(BLOCK));

    primary.mode = Mode.LATE;
    fallback.writeBack(primary, TIMEOUT).block(BLOCK);
    assertThat(primary.delegate.usage("lea", NOW).block(BLOCK).minute()).isEqualTo(100);
    assertThat(fallback.pendingWriteBack()).as("unconfirmed").isEqualTo(100);

    primary.mode = Mode.UP;
    fallback.writeBack(primary, TIMEOUT).block(BLOCK);

    assertThat(primary.delegate.usage("lea", NOW).block(BLOCK).minute()).isEqualTo(100);
    assertThat(fallback.pendingWriteBack()).isZero();
  }

  /**
   * While a user's write-back is unconfirmed, a new outage grants them only what is left of their
   * share after it: it may not be in what Redis last reported.
   */
  @Test
  void anUnconfirmedWriteBackCountsAgainstTheNextOutagesShare() {
    RememberingFallback fallback = new RememberingFallback(memory, () -> 1, CLOCK);
    Admitted first =
        admitted(
            fallback.admit(command("max", ReservationRequest.fixed(100, 1, 800))).block(BLOCK));
    // Served nothing: this replica's memory has room, and only the share can refuse.
    first.holder().settle("max", first.leaseId(), 0, NOW).block(BLOCK);
    primary.mode = Mode.FAIL;
    fallback.writeBack(primary, TIMEOUT).block(BLOCK);

    Admission next =
        fallback.admit(command("max", ReservationRequest.fixed(100, 1, 100))).block(BLOCK);

    assertThat(next).isInstanceOf(Admission.Rejected.class);
  }

  /** A team member's outage counts against the team's limits once written back, not only theirs. */
  @Test
  void aTeamMembersOutageIsWrittenBackToTheTeamToo() {
    Team team = new Team("team-" + UUID.randomUUID(), new Limits(5_000, 50_000, 500_000, 10));
    String member = Ledgers.member(team.name(), "nia");
    RememberingFallback fallback = new RememberingFallback(memory, () -> 1, CLOCK);
    admitted(fallback.admit(member(team, "nia", ReservationRequest.fixed(10, 1, 90))).block(BLOCK));

    fallback.writeBack(primary, BLOCK).block(BLOCK);

    assertThat(primary.delegate.usage(member, NOW).block(BLOCK).minute()).isEqualTo(100);
    assertThat(primary.delegate.teamUsage(team.name(), NOW).block(BLOCK).minute()).isEqualTo(100);
  }

  /**
   * An outage admission this replica's memory fails (it tracks its most users: the client gets a
   * 503) served nothing: nothing of it is written back.
   */
  @Test
  void anAdmissionThisReplicasMemoryFailsLeavesNothingToWriteBack() {
    RememberingFallback fallback =
        new RememberingFallback(new MemoryLimitStore(1, new SimpleMeterRegistry()), () -> 1, CLOCK);
    admitted(fallback.admit(command("pia")).block(BLOCK));

    assertThatThrownBy(() -> fallback.admit(command("quinn")).block(BLOCK))
        .isInstanceOf(StoreFullException.class);

    assertThat(fallback.pendingWriteBack()).isEqualTo(100);
  }

  /**
   * Members of a team during an outage, two replicas: this one grants the team at most half its
   * limit, however much room each member has of their own (half of theirs each).
   */
  @Test
  void anOutageGrantsATeamAtMostItsShareAcrossItsMembers() {
    Team team = new Team("team-" + UUID.randomUUID(), new Limits(1_000, 10_000, 100_000, 10));
    RememberingFallback fallback = new RememberingFallback(memory, () -> 2, CLOCK);
    admitted(fallback.admit(member(team, "ana", ReservationRequest.fixed(0, 1, 400))).block(BLOCK));

    assertThat(
            fallback.admit(member(team, "ben", ReservationRequest.fixed(0, 1, 400))).block(BLOCK))
        .isInstanceOf(Admission.Rejected.class);
    Admitted rest =
        admitted(
            fallback.admit(member(team, "ben", new ReservationRequest(0, 1, 1, 400))).block(BLOCK));
    assertThat(rest.reservedTokens()).isEqualTo(100);
  }

  private static AdmitCommand member(Team team, String user, ReservationRequest request) {
    return new AdmitCommand(
        Ledgers.member(team.name(), user),
        UUID.randomUUID().toString(),
        request,
        LIMITS,
        NOW,
        30_000,
        TokenWeights.ONE,
        Optional.of(team));
  }

  /** With the primary down, the fallback admits {@code user} 100 units and 40 are served. */
  private void servedInOutage(ResilientLimitStore store, String user) {
    primary.mode = Mode.FAIL;
    Admitted outage =
        admitted(store.admit(command(user, ReservationRequest.fixed(10, 1, 90))).block(BLOCK));
    outage.holder().settle(user, outage.leaseId(), 40, NOW).block(BLOCK);
  }

  /** The breaker closes, and the primary then holds the outage's 100 units of {@code user}. */
  private void awaitWrittenBack(ResilientLimitStore store, String user) {
    await().atMost(BLOCK).until(() -> store.breakerState() == CircuitBreaker.State.CLOSED);
    await()
        .atMost(BLOCK)
        .until(() -> primary.delegate.usage(user, NOW).block(BLOCK).minute() == 100);
  }

  /** Opens on one failure and half-opens 200 ms later by itself, letting two calls through. */
  private static CircuitBreaker halfOpensSoon(String name) {
    return CircuitBreaker.of(
        name,
        CircuitBreakerConfig.custom()
            .slidingWindowSize(1)
            .minimumNumberOfCalls(1)
            .waitDurationInOpenState(Duration.ofMillis(200))
            .automaticTransitionFromOpenToHalfOpenEnabled(true)
            .permittedNumberOfCallsInHalfOpenState(2)
            .build());
  }

  private static CircuitBreaker freshBreaker() {
    return CircuitBreaker.of(
        "redis-b",
        CircuitBreakerConfig.custom()
            .slidingWindowSize(4)
            .minimumNumberOfCalls(4)
            .failureRateThreshold(50)
            .waitDurationInOpenState(Duration.ofHours(1))
            .build());
  }

  private double degradedDecisions() {
    return registry.counter("limiter.degraded.decisions", "policy", "fallback-memory").count();
  }

  private double breakerGauge(String state) {
    return registry.get("limiter.redis.breaker.state").tag("state", state).gauge().value();
  }

  private static AdmitCommand command(String user) {
    return command(user, ReservationRequest.fixed(10, 1, 90));
  }

  private static AdmitCommand command(String user, ReservationRequest request) {
    return new AdmitCommand(user, UUID.randomUUID().toString(), request, LIMITS, NOW, 30_000);
  }

  private static Admitted admitted(Admission admission) {
    assertThat(admission).isInstanceOf(Admitted.class);
    return (Admitted) admission;
  }

  private enum Mode {
    UP,
    FAIL,
    HANG,
    /** Admissions and charges are recorded, but their answers never come; the rest answers. */
    LATE
  }

  /**
   * A memory store that can be made to fail at once or never answer, counting the admissions and
   * settles sent to it.
   */
  private static final class SwitchableStore implements LimitStore {

    final MemoryLimitStore delegate = new MemoryLimitStore();
    final AtomicInteger admits = new AtomicInteger();
    final AtomicInteger settles = new AtomicInteger();

    /** Charges still to refuse at once, whatever the mode. */
    final AtomicInteger failingCharges = new AtomicInteger();

    volatile Mode mode = Mode.UP;
    volatile Duration delay = Duration.ZERO;

    private <T> Mono<T> call(Mono<T> answer) {
      return Mono.defer(
          () ->
              switch (mode) {
                case UP -> delay.isZero() ? answer : answer.delayElement(delay);
                case FAIL -> Mono.error(new IllegalStateException("connection refused"));
                case HANG -> Mono.never();
                case LATE -> answer;
              });
    }

    @Override
    public Mono<Admission> admit(AdmitCommand command) {
      return Mono.defer(
          () -> {
            admits.incrementAndGet();
            return mode == Mode.LATE
                ? delegate.admit(command).then(Mono.never())
                : call(delegate.admit(command));
          });
    }

    @Override
    public Mono<Boolean> settle(String userId, String leaseId, long chargedTokens, long now) {
      return call(delegate.settle(userId, leaseId, chargedTokens, now))
          .doOnSubscribe(subscription -> settles.incrementAndGet());
    }

    @Override
    public Mono<Boolean> chargeOnce(String userId, String chargeId, long units, long now) {
      Mono<Boolean> charge = delegate.chargeOnce(userId, chargeId, units, now);
      return Mono.defer(
          () -> {
            if (failingCharges.getAndDecrement() > 0) {
              return Mono.error(new IllegalStateException("connection reset"));
            }
            return mode == Mode.LATE ? charge.then(Mono.never()) : call(charge);
          });
    }

    @Override
    public Mono<Boolean> renew(String userId, String leaseId, long now, long leaseTtlMillis) {
      return call(delegate.renew(userId, leaseId, now, leaseTtlMillis));
    }

    @Override
    public Mono<UsageSnapshot> usage(String userId, long now) {
      return call(delegate.usage(userId, now));
    }

    @Override
    public Mono<UsageSnapshot> teamUsage(String team, long now) {
      return call(delegate.teamUsage(team, now));
    }

    @Override
    public Mono<Void> carryOver(String from, String to, long now) {
      return call(delegate.carryOver(from, to, now));
    }

    @Override
    public Mono<Void> forget(String userId, long now) {
      return call(delegate.forget(userId, now));
    }

    @Override
    public Mono<java.util.List<UserUsage>> top(Window window, int count, long now) {
      return call(delegate.top(window, count, now));
    }
  }
}
