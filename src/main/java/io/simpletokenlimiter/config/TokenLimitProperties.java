package io.simpletokenlimiter.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.net.URI;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Every setting of the service, under {@code token.limit}. The environment variables of the
 * brief ({@code MAX_TOKENS_MINUTE}, {@code VLLM_URL}, ...) are mapped in {@code application.yml}.
 */
@ConfigurationProperties("token.limit")
@Validated
public record TokenLimitProperties(
    @DefaultValue("1000") long maxTokensPerMinute,
    @DefaultValue("10000") long maxTokensPerHour,
    @DefaultValue("100000") long maxTokensPerDay,
    @DefaultValue("5") int maxConcurrentRequests,
    @DefaultValue("http://localhost:8000") @NotNull URI vllmUrl,
    @DefaultValue("1MB") @NotNull DataSize maxBodySize,
    @DefaultValue @Valid Model model,
    @DefaultValue @Valid Upstream upstream) {

  /**
   * The model: the public name clients use, the name vLLM serves, and its context length.
   *
   * @param minCompletionTokens the least completion budget worth forwarding when the client did
   *     not set {@code max_tokens}; below it the request is rejected with 429
   */
  public record Model(
      @DefaultValue("llama3.2-1b") @NotBlank String publicName,
      @DefaultValue("meta-llama/Llama-3.2-1B-Instruct") @NotBlank String upstreamName,
      @DefaultValue("meta") @NotBlank String ownedBy,
      @DefaultValue("2048") @Min(1) int maxModelLen,
      @DefaultValue("16") @Min(1) int minCompletionTokens) {}

  /** Timeouts and circuit breaker around vLLM. */
  public record Upstream(
      @DefaultValue("2s") @NotNull Duration connectTimeout,
      @DefaultValue("60s") @NotNull Duration firstByteTimeout,
      @DefaultValue("30s") @NotNull Duration idleTimeout,
      @DefaultValue("1s") @NotNull Duration healthCacheTtl,
      @DefaultValue @Valid Breaker breaker) {}

  /** Resilience4j circuit breaker settings for the upstream. */
  public record Breaker(
      @DefaultValue("50") @Min(1) float failureRateThreshold,
      @DefaultValue("100") @Min(1) float slowCallRateThreshold,
      @DefaultValue("60s") @NotNull Duration slowCallDuration,
      @DefaultValue("20") @Min(1) int slidingWindowSize,
      @DefaultValue("10") @Min(1) int minimumNumberOfCalls,
      @DefaultValue("10s") @NotNull Duration waitInOpenState,
      @DefaultValue("3") @Min(1) int permittedCallsInHalfOpenState) {}
}
