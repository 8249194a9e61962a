package io.simpletokenlimiter.config;

import jakarta.validation.constraints.Min;
import java.util.Optional;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The model's capacity, {@code token.limit.upstream.max-in-flight} ({@code
 * UPSTREAM_MAX_IN_FLIGHT}): requests in flight to vLLM across every replica. 0, the default, sets
 * none. Beside {@link TokenLimitProperties.Upstream}, which holds the client's settings.
 */
@ConfigurationProperties("token.limit.upstream")
@Validated
public record UpstreamCapacityProperties(@DefaultValue("0") @Min(0) int maxInFlight) {

  public Optional<Integer> capacity() {
    return maxInFlight == 0 ? Optional.empty() : Optional.of(maxInFlight);
  }
}
