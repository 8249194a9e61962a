package io.simpletokenlimiter.config;

import io.simpletokenlimiter.limit.CalendarMonth;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.TokenWeights;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Every setting of the service, under {@code token.limit}. The environment variables of the brief
 * ({@code MAX_TOKENS_MINUTE}, {@code VLLM_URL}, ...) are mapped in {@code application.yml}.
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
    @DefaultValue @Valid Upstream upstream,
    @DefaultValue("memory") @NotNull StoreKind store,
    @DefaultValue("30s") @NotNull Duration leaseTtl,
    @DefaultValue("30m") @NotNull Duration maxLeaseLifetime,
    Path overridesFile,
    @DefaultValue("5s") @NotNull Duration overridesReloadInterval,
    @DefaultValue("2s") @NotNull Duration runtimeLimitsRefresh,
    String adminToken,
    Path tokenizerPath,
    Path apiKeysFile,
    @DefaultValue("local") @NotBlank String replica,
    @DefaultValue("-1") long maxTokensPerMonth,
    @DefaultValue("UTC") @NotNull ZoneId calendarZone,
    @DefaultValue @NotNull Weights weights,
    @DefaultValue("80,95") @NotNull List<Integer> warningThresholds) {

  public TokenLimitProperties {
    Limits.requireTokenLimit(
        "token.limit.max-tokens-per-minute (MAX_TOKENS_MINUTE)", maxTokensPerMinute);
    Limits.requireTokenLimit("token.limit.max-tokens-per-hour (MAX_TOKENS_HOUR)", maxTokensPerHour);
    Limits.requireTokenLimit("token.limit.max-tokens-per-day (MAX_TOKENS_DAY)", maxTokensPerDay);
    Limits.requireTokenLimit(
        "token.limit.max-tokens-per-month (MAX_TOKENS_MONTH)", maxTokensPerMonth);
    if (maxConcurrentRequests < 1) {
      throw new IllegalArgumentException(
          "token.limit.max-concurrent-requests (MAX_CONCURRENT) must be at least 1, was "
              + maxConcurrentRequests);
    }
    if (runtimeLimitsRefresh.toMillis() < 100) {
      throw new IllegalArgumentException(
          "token.limit.runtime-limits-refresh must be at least 100ms, was " + runtimeLimitsRefresh);
    }
    if (leaseTtl.toMillis() < 3_000) {
      throw new IllegalArgumentException(
          "token.limit.lease-ttl must be at least 3s (leases are renewed every third of it), was "
              + leaseTtl);
    }
  }

  /** The limits of every user without an override. */
  public Limits defaultLimits() {
    return new Limits(
        maxTokensPerMinute,
        maxTokensPerHour,
        maxTokensPerDay,
        maxTokensPerMonth,
        maxConcurrentRequests);
  }

  /** The calendar monthly quotas count in. */
  public CalendarMonth calendar() {
    return new CalendarMonth(calendarZone);
  }

  /**
   * What one token of each kind costs in the units the limits count, unless a tier sets its own
   * ({@code TOKEN_WEIGHT_PROMPT}, {@code TOKEN_WEIGHT_COMPLETION}, {@code
   * TOKEN_WEIGHT_CACHED_PROMPT}): at most three decimals, 0 to 1000.
   */
  public record Weights(
      @DefaultValue("1") @NotNull BigDecimal prompt,
      @DefaultValue("1") @NotNull BigDecimal completion,
      @DefaultValue("1") @NotNull BigDecimal cachedPrompt) {

    public Weights {
      tokenWeights(prompt, completion, cachedPrompt);
    }

    public TokenWeights tokenWeights() {
      return tokenWeights(prompt, completion, cachedPrompt);
    }

    private static TokenWeights tokenWeights(
        BigDecimal prompt, BigDecimal completion, BigDecimal cachedPrompt) {
      try {
        return TokenWeights.of(prompt, completion, cachedPrompt);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("token.limit.weights: " + e.getMessage(), e);
      }
    }
  }

  public Optional<Path> overrides() {
    return Optional.ofNullable(overridesFile);
  }

  /** A configured {@code tokenizer.json}; else {@code TOKENIZER_PATH} or the HF cache is used. */
  public Optional<Path> tokenizer() {
    return Optional.ofNullable(tokenizerPath);
  }

  /** The hashed API keys, when clients authenticate with a key instead of X-User-ID. */
  public Optional<Path> apiKeys() {
    return Optional.ofNullable(apiKeysFile);
  }

  public Optional<String> admin() {
    return Optional.ofNullable(adminToken).filter(token -> !token.isBlank());
  }

  /** Where counters live: this process, or Redis shared by every replica. */
  public enum StoreKind {
    MEMORY,
    REDIS
  }

  /**
   * The model: the public name clients use, the name vLLM serves, and its context length.
   *
   * @param minCompletionTokens the least completion budget worth forwarding when the client did not
   *     set {@code max_tokens}; below it the request is rejected with 429
   */
  public record Model(
      @DefaultValue("llama3.2-1b") @NotBlank String publicName,
      @DefaultValue("meta-llama/Llama-3.2-1B-Instruct") @NotBlank String upstreamName,
      @DefaultValue("meta") @NotBlank String ownedBy,
      @DefaultValue("2048") @Min(1) int maxModelLen,
      @DefaultValue("16") @Min(1) int minCompletionTokens) {}

  /**
   * Timeouts, connection pool and circuit breaker around vLLM.
   *
   * @param connectTimeout also the longest a request waits for a free pooled connection
   * @param maxConnections connections to vLLM; each request in flight holds one, a stream for its
   *     whole length
   * @param maxAnswerSize the largest non-streamed answer relayed; a larger one is cut (503)
   * @param answerTimeout the longest a non-streamed answer may take, status line to last byte
   */
  public record Upstream(
      @DefaultValue("2s") @NotNull Duration connectTimeout,
      @DefaultValue("60s") @NotNull Duration firstByteTimeout,
      @DefaultValue("30s") @NotNull Duration idleTimeout,
      @DefaultValue("1s") @NotNull Duration healthCacheTtl,
      @DefaultValue @Valid BreakerSettings breaker,
      @DefaultValue("1000") @Min(1) int maxConnections,
      @DefaultValue("8MB") @NotNull DataSize maxAnswerSize,
      @DefaultValue("75s") @NotNull Duration answerTimeout) {

    public Upstream {
      if (maxAnswerSize.toBytes() < 1 || maxAnswerSize.toBytes() > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(
            "token.limit.upstream.max-answer-size must be between 1B and 2GB, was "
                + maxAnswerSize);
      }
    }
  }
}
