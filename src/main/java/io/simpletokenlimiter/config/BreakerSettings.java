package io.simpletokenlimiter.config;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * A circuit breaker's settings, for vLLM ({@code token.limit.upstream.breaker.*}) and for Redis
 * ({@code token.limit.redis.breaker.*}) alike: it opens when {@code failureRateThreshold} percent
 * of the last {@code slidingWindowSize} calls failed, or {@code slowCallRateThreshold} percent took
 * longer than {@code slowCallDuration} (after at least {@code minimumNumberOfCalls}), stays open
 * for {@code waitInOpenState}, then lets {@code permittedCallsInHalfOpenState} calls probe.
 */
public record BreakerSettings(
    @DefaultValue("50") @DecimalMin("1") @DecimalMax("100") float failureRateThreshold,
    @DefaultValue("100") @DecimalMin("1") @DecimalMax("100") float slowCallRateThreshold,
    @DefaultValue("60s") @NotNull Duration slowCallDuration,
    @DefaultValue("20") @Min(1) int slidingWindowSize,
    @DefaultValue("10") @Min(1) int minimumNumberOfCalls,
    @DefaultValue("10s") @NotNull Duration waitInOpenState,
    @DefaultValue("3") @Min(1) int permittedCallsInHalfOpenState) {

  /** Resilience4j's configuration from these settings; it half-opens by itself. */
  public CircuitBreakerConfig.Builder config() {
    return CircuitBreakerConfig.custom()
        .failureRateThreshold(failureRateThreshold)
        .slowCallRateThreshold(slowCallRateThreshold)
        .slowCallDurationThreshold(slowCallDuration)
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(slidingWindowSize)
        .minimumNumberOfCalls(minimumNumberOfCalls)
        .waitDurationInOpenState(waitInOpenState)
        .automaticTransitionFromOpenToHalfOpenEnabled(true)
        .permittedNumberOfCallsInHalfOpenState(permittedCallsInHalfOpenState);
  }
}
