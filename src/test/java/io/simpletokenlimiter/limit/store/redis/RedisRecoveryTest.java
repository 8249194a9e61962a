package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import io.simpletokenlimiter.testing.redis.RedisServerExtension;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisReactiveAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Redis killed for long enough that Lettuce's default back-off would wait many seconds before its
 * next reconnection attempt, then started again on the same port: with the store's default settings
 * (reconnect delay cap, breaker wait) Redis decides again within 2 s of answering, under both
 * outage policies.
 */
@Timeout(120)
class RedisRecoveryTest {

  @RegisterExtension static final RedisServerExtension REDIS = new RedisServerExtension();

  private static final Duration OUTAGE = Duration.ofSeconds(10);
  private static final Duration BACK_WITHIN = Duration.ofSeconds(2);
  private static final Limits LIMITS = new Limits(1_000_000, 10_000_000, 100_000_000, 50);

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DataRedisAutoConfiguration.class, DataRedisReactiveAutoConfiguration.class))
          .withUserConfiguration(
              RedisStoreConfigurationTest.LimiterBeans.class, RedisStoreConfiguration.class);

  @ParameterizedTest
  @EnumSource(OutagePolicy.class)
  void redisDecidesAgainWithinTwoSecondsOfAnsweringAgain(OutagePolicy policy) {
    if (!REDIS.server().isRunning()) {
      REDIS.server().startAgain();
    }
    runner
        .withPropertyValues(
            "token.limit.store=redis",
            "spring.data.redis.host=" + REDIS.server().host(),
            "spring.data.redis.port=" + REDIS.server().port(),
            "token.limit.redis.outage-policy=" + policy.label())
        .run(
            context -> {
              ResilientLimitStore store = context.getBean(ResilientLimitStore.class);
              // The context runner runs no ApplicationRunner, so no warm-up: the first script call
              // (connection, script load, cold code) may exceed the default 500 ms timeout on a
              // loaded machine. The precondition is only that Redis decides before the outage.
              await().atMost(Duration.ofSeconds(10)).until(() -> redisDecides(store));

              REDIS.server().stop();
              long outageEnds = System.nanoTime() + OUTAGE.toNanos();
              while (System.nanoTime() < outageEnds) {
                assertThat(redisDecides(store)).isFalse();
                Thread.sleep(50);
              }
              REDIS.server().startAgain();
              long back = System.nanoTime();

              await()
                  .atMost(BACK_WITHIN)
                  .pollInterval(Duration.ofMillis(20))
                  .until(() -> redisDecides(store));
              System.out.printf(
                  "%s: Redis decided again %d ms after it answered%n",
                  policy.label(), (System.nanoTime() - back) / 1_000_000);
            });
  }

  /** Whether an admission right now is decided by Redis (not failed, not by this memory). */
  private static boolean redisDecides(ResilientLimitStore store) {
    String user = "recovery-" + UUID.randomUUID();
    AdmitCommand command =
        new AdmitCommand(
            user,
            UUID.randomUUID().toString(),
            ReservationRequest.fixed(1, 1, 1),
            LIMITS,
            System.currentTimeMillis(),
            30_000);
    try {
      Admission admission = store.admit(command).block(Duration.ofSeconds(5));
      if (admission instanceof Admitted admitted && admitted.holder() == store) {
        store.settle(user, admitted.leaseId(), 2, System.currentTimeMillis()).block();
        return true;
      }
      return false;
    } catch (StoreUnavailableException unavailable) {
      return false;
    }
  }
}
