package io.simpletokenlimiter.limit.store.redis;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.resource.Delay;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.config.store.RedisStoreSelected;
import io.simpletokenlimiter.config.store.StoreSelection;
import io.simpletokenlimiter.limit.CalendarMonth;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.data.redis.autoconfigure.ClientResourcesBuilderCustomizer;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientOptionsBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

/**
 * When the {@link StoreSelection} is Redis ({@code token.limit.store=redis}, or a Redis server
 * configured and no store chosen): counters in Redis through Spring Boot's reactive connection
 * factory, guarded by a timeout, a circuit breaker and the configured outage policy. The guarded
 * store is the {@code @Primary} {@link LimitStore}; under {@code fallback-memory} the bean {@code
 * memoryLimitStore} decides while Redis is down.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(RedisStoreSelected.class)
@EnableConfigurationProperties(RedisStoreProperties.class)
public class RedisStoreConfiguration {

  private static final Logger log = LoggerFactory.getLogger(RedisStoreConfiguration.class);
  private static final Duration WARM_UP_TIMEOUT = Duration.ofSeconds(5);

  /**
   * While the connection is down, Lettuce would queue commands until it reconnects; refusing them
   * at once lets the breaker see the outage instead of a wall of timeouts.
   */
  @Bean
  LettuceClientOptionsBuilderCustomizer rejectCommandsWhileDisconnected() {
    return options ->
        options.disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS);
  }

  /**
   * Lettuce backs off up to 30 s between reconnection attempts; capped here, Redis is back in use
   * within about a second of answering again (with the breaker's {@code wait-in-open-state}).
   */
  @Bean
  ClientResourcesBuilderCustomizer capReconnectDelay(RedisStoreProperties properties) {
    return resources -> resources.reconnectDelay(reconnectDelay(properties.maxReconnectDelay()));
  }

  /**
   * Lettuce times every command into histograms of its own, which nothing here reads (they go to
   * its event bus every ten minutes); the store's metrics time the scripts.
   */
  @Bean
  ClientResourcesBuilderCustomizer noCommandLatencyRecorder() {
    return resources -> resources.commandLatencyRecorder(CommandLatencyRecorder.disabled());
  }

  /** Exponential from 1 ms, doubling, never above {@code max}. */
  static Delay reconnectDelay(Duration max) {
    return Delay.exponential(Duration.ofMillis(1), max, 2, TimeUnit.MILLISECONDS);
  }

  /**
   * On Lettuce (Spring Boot's default) and Reactor Netty, each HTTP event loop runs its requests'
   * scripts on a Redis connection of its own ({@link LoopLocalRedis}).
   */
  @Bean(destroyMethod = "close")
  RedisLimitStore redisLimitStore(
      ReactiveRedisConnectionFactory connectionFactory,
      ObjectProvider<ReactorResourceFactory> reactorResources,
      ObjectProvider<TokenLimitProperties> properties) {
    CalendarMonth calendar =
        Optional.ofNullable(properties.getIfAvailable())
            .map(TokenLimitProperties::calendar)
            .orElse(CalendarMonth.UTC);
    ReactorResourceFactory loops = reactorResources.getIfAvailable();
    if (connectionFactory instanceof LettuceConnectionFactory lettuce && loops != null) {
      return new RedisLimitStore(
          lettuce, loops.getLoopResources().onServer(LoopResources.DEFAULT_NATIVE), calendar);
    }
    return new RedisLimitStore(connectionFactory, calendar);
  }

  /** How many replicas share this Redis: what an outage's per-replica share is divided by. */
  @Bean
  ReplicaHeartbeat replicaHeartbeat(
      ReactiveRedisConnectionFactory connectionFactory,
      Clock clock,
      ObjectProvider<TokenLimitProperties> properties,
      MeterRegistry meterRegistry) {
    String replica =
        properties.getIfAvailable() == null ? "replica" : properties.getObject().replica();
    ReplicaHeartbeat heartbeat =
        new ReplicaHeartbeat(new ReactiveStringRedisTemplate(connectionFactory), clock, replica);
    Gauge.builder("limiter.redis.replicas", heartbeat, ReplicaHeartbeat::getAsInt)
        .description("Replicas sharing Redis, this one included, as its heartbeats last counted")
        .register(meterRegistry);
    return heartbeat;
  }

  @Bean
  @Primary
  ResilientLimitStore limitStore(
      RedisLimitStore redisLimitStore,
      @Qualifier("memoryLimitStore") LimitStore memoryLimitStore,
      ReplicaHeartbeat replicas,
      Clock clock,
      RedisStoreProperties properties,
      MeterRegistry meterRegistry) {
    CircuitBreaker breaker = breaker(properties);
    return switch (properties.outagePolicy()) {
      case FAIL_CLOSED ->
          ResilientLimitStore.failClosed(
              redisLimitStore, properties.commandTimeout(), breaker, meterRegistry);
      case FALLBACK_MEMORY ->
          ResilientLimitStore.withFallback(
              redisLimitStore,
              memoryLimitStore,
              replicas,
              clock,
              properties.commandTimeout(),
              breaker,
              meterRegistry);
    };
  }

  /** Runs before the replica reports ready; a Redis that is down now only gets a warning. */
  @Bean
  ApplicationRunner redisLimitStoreWarmUp(RedisLimitStore redisLimitStore, Clock clock) {
    return arguments ->
        redisLimitStore
            .warmUp(clock.millis())
            .timeout(WARM_UP_TIMEOUT)
            .onErrorResume(
                error -> {
                  log.warn("Redis limit store not warmed up: {}", error.toString());
                  return Mono.empty();
                })
            .block();
  }

  @Bean
  RedisStoreHealthIndicator limitStoreHealthIndicator(
      ReactiveRedisConnectionFactory connectionFactory, RedisStoreProperties properties) {
    return new RedisStoreHealthIndicator(
        connectionFactory, properties.outagePolicy(), properties.commandTimeout().multipliedBy(4));
  }

  /**
   * A half-open breaker waits for every call it let through to end; one that never ended would keep
   * it half-open, refusing Redis to all other calls, for good. Each call has the command timeout,
   * so none should last; should one all the same, the breaker opens after {@link #longestHalfOpen}
   * and half-opens again with new calls.
   */
  static CircuitBreaker breaker(RedisStoreProperties properties) {
    return CircuitBreaker.of(
        "redis",
        properties
            .breaker()
            .config()
            .maxWaitDurationInHalfOpenState(longestHalfOpen(properties.commandTimeout()))
            .build());
  }

  /** The half-open breaker's calls (its probes run one after another) with room to spare. */
  static Duration longestHalfOpen(Duration commandTimeout) {
    Duration calls = commandTimeout.multipliedBy(4);
    return calls.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : calls;
  }

  /** Run-time limits in Redis, shared by every replica; replaces this replica's own. */
  @Bean
  @Primary
  RedisRuntimeLimits redisRuntimeLimits(
      ReactiveRedisConnectionFactory connectionFactory, RedisStoreProperties properties) {
    return new RedisRuntimeLimits(
        new ReactiveStringRedisTemplate(connectionFactory), properties.commandTimeout());
  }

  /** Reads the run-time limits before the replica takes traffic; Redis down only warns. */
  @Bean
  ApplicationRunner runtimeLimitsFirstRead(RedisRuntimeLimits runtimeLimits) {
    return arguments -> runtimeLimits.refresh().timeout(WARM_UP_TIMEOUT).block();
  }
}
