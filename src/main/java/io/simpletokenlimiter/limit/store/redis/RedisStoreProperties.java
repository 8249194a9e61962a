package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.config.BreakerSettings;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * How the Redis store copes with Redis being down, under {@code token.limit.redis}. The connection
 * itself is Spring Boot's {@code spring.data.redis.*} (host, port, cluster nodes, sentinel).
 *
 * @param outagePolicy {@code fallback-memory} (keep serving with per-replica limits) or {@code
 *     fail-closed} (answer 503 until Redis is back)
 * @param commandTimeout the longest a request waits for Redis before the policy applies
 * @param maxReconnectDelay the longest Lettuce waits between two attempts to reconnect to a Redis
 *     that went away (its default backs off to 30 s): with the breaker's {@code waitInOpenState},
 *     how soon Redis decides again after it returns
 */
@ConfigurationProperties("token.limit.redis")
@Validated
public record RedisStoreProperties(
    @DefaultValue("fallback-memory") @NotNull OutagePolicy outagePolicy,
    @DefaultValue("500ms") @NotNull Duration commandTimeout,
    @Valid BreakerSettings breaker,
    @DefaultValue("500ms") @NotNull Duration maxReconnectDelay) {

  /**
   * Without {@code token.limit.redis.breaker.*}: a breaker that opens after a few failures and
   * probes again after half a second, so that a returning Redis decides again quickly.
   */
  public static final BreakerSettings DEFAULT_BREAKER =
      new BreakerSettings(50, 100, Duration.ofSeconds(60), 20, 5, Duration.ofMillis(500), 2);

  public RedisStoreProperties {
    breaker = breaker == null ? DEFAULT_BREAKER : breaker;
  }
}
