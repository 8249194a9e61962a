package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreaker.State;
import io.lettuce.core.ClientOptions;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisReactiveAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

@Timeout(60)
class RedisStoreConfigurationTest {

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DataRedisAutoConfiguration.class, DataRedisReactiveAutoConfiguration.class))
          .withUserConfiguration(LimiterBeans.class, RedisStoreConfiguration.class);

  @Test
  void theMemoryStoreStaysAloneUnlessRedisIsChosen() {
    runner.run(
        context -> {
          assertThat(context).hasNotFailed();
          assertThat(context).doesNotHaveBean(RedisLimitStore.class);
          assertThat(context.getBean(LimitStore.class)).isInstanceOf(MemoryLimitStore.class);
        });
  }

  @Test
  void redisChosenGivesAGuardedRedisStoreThatFallsBackToMemory() {
    runner
        .withPropertyValues(redisProperties())
        // The context runner runs no ApplicationRunner, so no warm-up: this first admission pays
        // for the connection, the script load and cold code, which may exceed the default 500 ms
        // on a loaded machine (and a timed-out admission is an error). The timeout is not the
        // subject here.
        .withPropertyValues("token.limit.redis.command-timeout=3s")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              ResilientLimitStore store = (ResilientLimitStore) context.getBean(LimitStore.class);
              assertThat(store.policy()).isEqualTo(OutagePolicy.FALLBACK_MEMORY);

              AdmitCommand command =
                  new AdmitCommand(
                      "config-user",
                      "lease-1",
                      ReservationRequest.fixed(1, 1, 1),
                      new Limits(10, 10, 10, 1),
                      1_800_000_000_000L,
                      30_000);
              assertThat(store.admit(command).block(Duration.ofSeconds(10)))
                  .isInstanceOf(Admitted.class);
              assertThat(
                      context
                          .getBean(RedisLimitStore.class)
                          .usage("config-user", 1_800_000_000_000L)
                          .block(Duration.ofSeconds(10))
                          .minute())
                  .isEqualTo(2);

              LettuceConnectionFactory factory = context.getBean(LettuceConnectionFactory.class);
              assertThat(factory.getClientConfiguration().getClientOptions())
                  .hasValueSatisfying(
                      options ->
                          assertThat(options.getDisconnectedBehavior())
                              .isEqualTo(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS));
              assertThat(
                      factory
                          .getClientConfiguration()
                          .getClientResources()
                          .orElseThrow()
                          .commandLatencyRecorder()
                          .isEnabled())
                  .isFalse();
            });
  }

  @Test
  void healthShowsWhetherRedisAnswers() throws IOException {
    runner
        .withPropertyValues(redisProperties())
        .run(
            context -> {
              RedisStoreHealthIndicator indicator =
                  context.getBean(RedisStoreHealthIndicator.class);
              assertThat(indicator.health().block(Duration.ofSeconds(10)).getStatus())
                  .isEqualTo(Status.UP);
            });
    runner
        .withPropertyValues(redisProperties())
        .withPropertyValues("spring.data.redis.port=" + closedPort())
        .run(
            context -> {
              Health health =
                  context
                      .getBean(RedisStoreHealthIndicator.class)
                      .health()
                      .block(Duration.ofSeconds(10));
              assertThat(health.getStatus()).isEqualTo(Status.DOWN);
              assertThat(health.getDetails())
                  .containsEntry("outagePolicy", OutagePolicy.FALLBACK_MEMORY);
            });
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Test
  void failClosedIsAPolicyToChoose() {
    runner
        .withPropertyValues(redisProperties())
        .withPropertyValues(
            "token.limit.redis.outage-policy=fail-closed",
            "token.limit.redis.command-timeout=100ms")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(ResilientLimitStore.class).policy())
                  .isEqualTo(OutagePolicy.FAIL_CLOSED);
            });
  }

  /**
   * Calls a half-open breaker let through that never end (none should: each has the command
   * timeout) keep it half-open no longer than its bound: it opens, then half-opens with new calls.
   */
  @Test
  void aHalfOpenBreakerWhoseCallsNeverEndOpensAndTriesAgain() {
    CircuitBreaker breaker =
        RedisStoreConfiguration.breaker(
            new RedisStoreProperties(
                OutagePolicy.FALLBACK_MEMORY,
                Duration.ofMillis(100),
                null,
                Duration.ofMillis(500)));
    breaker.transitionToOpenState();
    breaker.transitionToHalfOpenState();
    // Every call it lets through, none of which ever ends.
    while (breaker.tryAcquirePermission()) {}

    await().atMost(Duration.ofSeconds(5)).until(() -> breaker.getState() == State.OPEN);
    await().atMost(Duration.ofSeconds(5)).until(breaker::tryAcquirePermission);
  }

  @Test
  void anInvalidBreakerSettingStopsTheStart() {
    runner
        .withPropertyValues(redisProperties())
        .withPropertyValues("token.limit.redis.breaker.sliding-window-size=0")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("token.limit.redis.breaker")
                    .hasMessageContaining("slidingWindowSize"));
  }

  private static String[] redisProperties() {
    return new String[] {
      "token.limit.store=redis",
      "spring.data.redis.host=127.0.0.1",
      "spring.data.redis.port=" + SharedRedis.standalone().port()
    };
  }

  /** What the lead's limiter configuration provides to the store beans. */
  @Configuration(proxyBeanMethods = false)
  static class LimiterBeans {

    @Bean
    Clock clock() {
      return Clock.systemUTC();
    }

    @Bean
    MemoryLimitStore memoryLimitStore() {
      return new MemoryLimitStore();
    }

    @Bean
    MeterRegistry meterRegistry() {
      return new SimpleMeterRegistry();
    }
  }
}
