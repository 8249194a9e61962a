package io.simpletokenlimiter.limit;

import java.math.BigDecimal;

/**
 * What one token of each kind costs in the units the limits count. Weights have at most three
 * decimals and are kept in thousandths, so that every charge is exact integer arithmetic (and the
 * Redis scripts' doubles stay exact): a charge is the weighted sum rounded up, never down.
 *
 * <p>Prompt tokens that vLLM served from its prefix cache ({@code
 * usage.prompt_tokens_details.cached_tokens}) cost {@code cachedPrompt}; the reservation, made
 * before anyone knows what will be cached, prices every prompt token at the dearer of the two.
 */
public record TokenWeights(long promptMillis, long completionMillis, long cachedPromptMillis) {

  /** One unit per token of every kind: limits count plain tokens. */
  public static final TokenWeights ONE = new TokenWeights(1_000, 1_000, 1_000);

  /** The largest weight: keeps every weighted count of a token limit exact in a double. */
  public static final long MAX_WEIGHT_MILLIS = 1_000_000;

  public TokenWeights {
    requireWeight("prompt", promptMillis);
    requireWeight("completion", completionMillis);
    requireWeight("cached-prompt", cachedPromptMillis);
  }

  /** Weights as written in configuration, e.g. {@code 0.5}. */
  public static TokenWeights of(BigDecimal prompt, BigDecimal completion, BigDecimal cachedPrompt) {
    return new TokenWeights(
        millis("prompt", prompt),
        millis("completion", completion),
        millis("cached-prompt", cachedPrompt));
  }

  /** What {@code usage} costs: the weighted sum, rounded up. */
  public long units(TokenUsage usage) {
    long cached = Math.min(usage.cachedPromptTokens(), usage.promptTokens());
    long weighted =
        Math.addExact(
            Math.addExact(
                Math.multiplyExact(usage.promptTokens() - cached, promptMillis),
                Math.multiplyExact(cached, cachedPromptMillis)),
            Math.multiplyExact(usage.completionTokens(), completionMillis));
    return ceilThousandths(weighted);
  }

  /** The most {@code promptTokens} can cost, whichever of them turn out to be cached. */
  public long promptUnits(long promptTokens) {
    return ceilThousandths(
        Math.multiplyExact(promptTokens, Math.max(promptMillis, cachedPromptMillis)));
  }

  /** The most {@code request} costs with {@code completionPerChoice}. */
  public long cost(ReservationRequest request, long completionPerChoice) {
    return promptUnits(request.promptTokens())
        + completionUnits(request.choices() * completionPerChoice);
  }

  /** What {@code completionTokens} cost, rounded up. */
  public long completionUnits(long completionTokens) {
    return ceilThousandths(Math.multiplyExact(completionTokens, completionMillis));
  }

  /**
   * The most completion tokens whose cost fits in {@code units}; {@code Long.MAX_VALUE} when
   * completion tokens are free or the room is beyond any limit (no window limited).
   */
  public long completionTokensWithin(long units) {
    if (completionMillis == 0 || units > Long.MAX_VALUE / 1_000) {
      return Long.MAX_VALUE;
    }
    return Math.floorDiv(Math.multiplyExact(units, 1_000), completionMillis);
  }

  private static long ceilThousandths(long thousandths) {
    return -Math.floorDiv(-thousandths, 1_000);
  }

  private static long millis(String name, BigDecimal weight) {
    BigDecimal thousandths = weight.movePointRight(3);
    if (thousandths.stripTrailingZeros().scale() > 0) {
      throw new IllegalArgumentException(
          name + " weight may have at most three decimals, was " + weight.toPlainString());
    }
    if (thousandths.compareTo(BigDecimal.valueOf(MAX_WEIGHT_MILLIS)) > 0) {
      throw new IllegalArgumentException(
          name + " weight must be at most 1000, was " + weight.toPlainString());
    }
    return thousandths.longValueExact();
  }

  private static void requireWeight(String name, long millis) {
    if (millis < 0 || millis > MAX_WEIGHT_MILLIS) {
      throw new IllegalArgumentException(
          name + " weight must be between 0 and 1000, was " + millis / 1000.0);
    }
  }
}
