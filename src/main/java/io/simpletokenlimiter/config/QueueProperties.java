package io.simpletokenlimiter.config;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Waiting for room instead of a 429 ({@code token.limit.queue}): see the README, "Waiting instead
 * of 429".
 *
 * @param maxWait how long a request without {@code X-Max-Wait} waits; 0 answers 429 at once
 * @param maxWaitCeiling the longest wait a request may ask for; a larger {@code X-Max-Wait} is cut
 * @param maxWaitingPerUser requests of one user waiting on one replica; past it 429 at once
 * @param maxWaiting requests waiting on one replica in all; past it 429 at once
 * @param shares each tier's share of the model's turns when it is full (tiers of the overrides
 *     file); a tier's {@code share} in the overrides file wins over this; users of other tiers and
 *     without one have share 1
 */
@ConfigurationProperties("token.limit.queue")
@Validated
public record QueueProperties(
    @DefaultValue("0s") @NotNull Duration maxWait,
    @DefaultValue("60s") @NotNull Duration maxWaitCeiling,
    @DefaultValue("100") @Min(1) int maxWaitingPerUser,
    @DefaultValue("10000") @Min(1) int maxWaiting,
    Map<String, Integer> shares) {

  public QueueProperties {
    if (maxWait.isNegative() || maxWaitCeiling.isNegative()) {
      throw new IllegalArgumentException(
          "token.limit.queue.max-wait and max-wait-ceiling must not be negative");
    }
    if (maxWait.compareTo(maxWaitCeiling) > 0) {
      throw new IllegalArgumentException(
          "token.limit.queue.max-wait (TOKEN_LIMIT_QUEUE_MAX_WAIT) must be at most max-wait-ceiling"
              + " (TOKEN_LIMIT_QUEUE_MAX_WAIT_CEILING), was "
              + maxWait
              + " > "
              + maxWaitCeiling);
    }
    shares = shares == null ? Map.of() : Map.copyOf(shares);
    shares.forEach(
        (tier, share) -> {
          if (share < 1) {
            throw new IllegalArgumentException(
                "token.limit.queue.shares." + tier + " must be at least 1, was " + share);
          }
        });
  }

  /** The share of the tier named {@code tier}, 1 when none is set. */
  public int shareOf(String tier) {
    return shares.getOrDefault(tier, 1);
  }
}
