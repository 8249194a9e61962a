package io.simpletokenlimiter.limit.store.redis;

import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
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
    @DefaultValue @Valid Breaker breaker,
    @DefaultValue("500ms") @NotNull Duration maxReconnectDelay) {

  /**
   * The circuit breaker around Redis: it opens when {@code failureRateThreshold} percent of the
   * last {@code slidingWindowSize} calls failed (after at least {@code minimumNumberOfCalls}),
   * stays open for {@code waitInOpenState}, then lets {@code permittedCallsInHalfOpenState} calls
   * probe Redis.
   */
  public record Breaker(
      @DefaultValue("50") @DecimalMin("1") @DecimalMax("100") float failureRateThreshold,
      @DefaultValue("20") @Min(1) int slidingWindowSize,
      @DefaultValue("5") @Min(1) int minimumNumberOfCalls,
      @DefaultValue("500ms") @NotNull Duration waitInOpenState,
      @DefaultValue("2") @Min(1) int permittedCallsInHalfOpenState) {}
}
