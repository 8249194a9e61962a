package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.lettuce.core.ClientOptions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.simpletokenlimiter.config.BreakerSettings;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.testing.redis.RedisServerExtension;
import io.simpletokenlimiter.testing.redis.RespConnection;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * A real redis-server killed and started again under traffic: with the connection options and
 * breaker of production, no call waits for the dead Redis, the policy decides meanwhile, and Redis
 * decides again once it is back, without any restart of the client.
 */
@Timeout(120)
class RedisOutageTest {

  @RegisterExtension static final RedisServerExtension REDIS = new RedisServerExtension();

  private static final Limits LIMITS = new Limits(100_000, 1_000_000, 10_000_000, 50);

  /** Generous for a loaded CI machine; only a dead Redis without guard would exceed it. */
  private static final Duration BOUND = Duration.ofSeconds(5);

  /**
   * A timed-out admission is an error under both policies (a slow Redis is not a dead one), so a
   * stall of a loaded CI machine past a short timeout would fail "no admission failed" while Redis
   * is up. While it is down the timeout plays no part: with REJECT_COMMANDS Lettuce fails the
   * commands in flight as the connection drops and refuses new ones at once (the breaker opened
   * about 0.1 to 0.2 s after the kill, and 20 fail-closed calls took under 50 ms, with 250 ms as
   * with 3 s). Were commands queued instead, they would time out: failures in the traffic, and too
   * few degraded decisions under fail-closed, whatever the timeout.
   */
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(3);

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final MemoryLimitStore memory = new MemoryLimitStore();
  private LettuceConnectionFactory connections;
  private RedisLimitStore redis;

  @BeforeEach
  void connect() {
    if (!REDIS.server().isRunning()) {
      REDIS.server().startAgain();
    }
    // As RedisStoreConfiguration sets it up: commands fail at once while disconnected.
    LettuceClientConfiguration client =
        LettuceClientConfiguration.builder()
            .commandTimeout(Duration.ofSeconds(5))
            .clientOptions(
                ClientOptions.builder()
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .build())
            .build();
    connections =
        new LettuceConnectionFactory(
            new RedisStandaloneConfiguration(REDIS.server().host(), REDIS.server().port()), client);
    connections.afterPropertiesSet();
    connections.start();
    redis = new RedisLimitStore(connections);
    // Connection, script loading and cold code paid once here, as production does before it
    // reports ready, and without the guard: the tests' first admissions must not pay for them.
    redis.warmUp(System.currentTimeMillis()).block(Duration.ofSeconds(30));
  }

  @AfterEach
  void disconnect() {
    connections.destroy();
  }

  @Test
  void trafficGoesOnInMemoryWhileRedisIsDownAndBackToRedisWhenItReturns() throws Exception {
    ResilientLimitStore store =
        ResilientLimitStore.withFallback(
            redis, memory, () -> 1, Clock.systemUTC(), COMMAND_TIMEOUT, breaker(), registry);
    Traffic traffic = new Traffic(store);
    Thread client = new Thread(traffic, "traffic");
    client.start();
    try {
      traffic.awaitDecisions(30);
      assertThat(degraded()).isZero();

      REDIS.server().stop();
      int before = traffic.decisions.get();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> store.breakerState() == CircuitBreaker.State.OPEN);
      traffic.awaitDecisions(before + 30);
      assertThat(degraded()).isGreaterThanOrEqualTo(30);

      REDIS.server().startAgain();
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> store.breakerState() == CircuitBreaker.State.CLOSED);
      double degradedWhenBack = degraded();
      traffic.awaitDecisions(traffic.decisions.get() + 30);

      assertThat(degraded()).isEqualTo(degradedWhenBack);
    } finally {
      traffic.running.set(false);
      client.join(BOUND.toMillis() * 2);
    }
    assertThat(client.isAlive()).isFalse();
    // Every admission was answered, by Redis or by memory, within the bound of block().
    assertThat(traffic.admitFailures).isEmpty();
    // Redis holds counters again: the traffic after recovery is there.
    try (RespConnection connection = REDIS.server().connect()) {
      assertThat((Long) connection.call("EXISTS", RedisLimitStore.key(traffic.user))).isEqualTo(1L);
    }
  }

  @Test
  void failClosedAnswersUnavailableAtOnceAndRecovers() {
    ResilientLimitStore store =
        ResilientLimitStore.failClosed(redis, COMMAND_TIMEOUT, breaker(), registry);
    String user = "user-" + UUID.randomUUID();
    assertThat(store.admit(command(user)).block(BOUND)).isInstanceOf(Admitted.class);

    REDIS.server().stop();

    for (int i = 0; i < 20; i++) {
      assertThatThrownBy(() -> store.admit(command(user)).block(BOUND))
          .isInstanceOf(StoreUnavailableException.class);
    }
    assertThat(store.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(registry.counter("limiter.degraded.decisions", "policy", "fail-closed").count())
        .isEqualTo(20);

    REDIS.server().startAgain();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .ignoreException(StoreUnavailableException.class)
        .until(() -> store.admit(command(user)).block(BOUND) instanceof Admitted);
  }

  private static CircuitBreaker breaker() {
    return RedisStoreConfiguration.breaker(
        new RedisStoreProperties(
            OutagePolicy.FALLBACK_MEMORY,
            COMMAND_TIMEOUT,
            new BreakerSettings(50, 100, Duration.ofSeconds(60), 10, 5, Duration.ofMillis(500), 2),
            Duration.ofMillis(500)));
  }

  private double degraded() {
    return registry.counter("limiter.degraded.decisions", "policy", "fallback-memory").count();
  }

  private static AdmitCommand command(String user) {
    return new AdmitCommand(
        user,
        UUID.randomUUID().toString(),
        ReservationRequest.fixed(10, 1, 20),
        LIMITS,
        System.currentTimeMillis(),
        30_000);
  }

  /** One client admitting and settling requests back to back, recording what went wrong. */
  private static final class Traffic implements Runnable {

    final String user = "user-" + UUID.randomUUID();
    final ResilientLimitStore store;
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicInteger decisions = new AtomicInteger();
    final ConcurrentLinkedQueue<Throwable> admitFailures = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Throwable> settleFailures = new ConcurrentLinkedQueue<>();

    Traffic(ResilientLimitStore store) {
      this.store = store;
    }

    @Override
    public void run() {
      while (running.get()) {
        try {
          Admission admission = store.admit(command(user)).block(BOUND.multipliedBy(2));
          if (admission instanceof Admitted admitted) {
            settle(admitted);
          }
        } catch (RuntimeException e) {
          admitFailures.add(e);
        }
        decisions.incrementAndGet();
      }
    }

    private void settle(Admitted admitted) {
      try {
        store
            .settle(user, admitted.leaseId(), 25, System.currentTimeMillis())
            .block(BOUND.multipliedBy(2));
      } catch (StoreUnavailableException e) {
        // A Redis lease whose Redis just died: it expires there and is charged in full.
        settleFailures.add(e);
      }
    }

    void awaitDecisions(int count) {
      await().atMost(Duration.ofSeconds(60)).until(() -> decisions.get() >= count);
    }
  }
}
