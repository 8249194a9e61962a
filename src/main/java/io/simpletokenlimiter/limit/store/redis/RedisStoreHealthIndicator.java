package io.simpletokenlimiter.limit.store.redis;

import java.time.Duration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import reactor.core.publisher.Mono;

/**
 * {@code /actuator/health} component {@code limitStore}: whether Redis answers a PING within the
 * command timeout, and which outage policy decides while it does not. Not part of the liveness or
 * readiness groups: under {@code fallback-memory} the service still answers without Redis.
 */
public final class RedisStoreHealthIndicator implements ReactiveHealthIndicator {

  private final ReactiveRedisConnectionFactory connectionFactory;
  private final OutagePolicy policy;
  private final Duration timeout;

  public RedisStoreHealthIndicator(
      ReactiveRedisConnectionFactory connectionFactory, OutagePolicy policy, Duration timeout) {
    this.connectionFactory = connectionFactory;
    this.policy = policy;
    this.timeout = timeout;
  }

  @Override
  public Mono<Health> health() {
    return Mono.usingWhen(
            Mono.fromSupplier(connectionFactory::getReactiveConnection),
            connection -> connection.ping(),
            connection -> connection.closeLater())
        .timeout(timeout)
        .map(pong -> Health.up())
        .onErrorResume(error -> Mono.just(Health.down().withDetail("error", error.toString())))
        .map(
            health ->
                health.withDetail("store", "redis").withDetail("outagePolicy", policy).build());
  }
}
