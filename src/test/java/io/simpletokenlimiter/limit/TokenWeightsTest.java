package io.simpletokenlimiter.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

class TokenWeightsTest {

  private static final TokenWeights WEIGHTS =
      TokenWeights.of(new BigDecimal("1"), new BigDecimal("3"), new BigDecimal("0.5"));

  @Test
  void aChargeIsTheWeightedSumRoundedUp() {
    assertThat(WEIGHTS.units(new TokenUsage(40, 20, 10))).isEqualTo(30 + 5 + 60);
    assertThat(WEIGHTS.units(new TokenUsage(41, 20, 11))).isEqualTo(96); // 95.5
    assertThat(TokenWeights.ONE.units(new TokenUsage(25, 128, 7))).isEqualTo(153);
  }

  @Test
  void moreCachedTokensThanPromptTokensAreNotCheaper() {
    assertThat(WEIGHTS.units(new TokenUsage(10, 0, 50))).isEqualTo(5);
  }

  @Test
  void aPromptIsReservedAtTheDearerOfItsTwoWeights() {
    TokenWeights cachedDearer = new TokenWeights(500, 1_000, 2_000);
    assertThat(cachedDearer.promptUnits(10)).isEqualTo(20);
    assertThat(WEIGHTS.promptUnits(10)).isEqualTo(10);
    assertThat(cachedDearer.units(new TokenUsage(10, 0, 10)))
        .isLessThanOrEqualTo(cachedDearer.promptUnits(10));
  }

  @Test
  void theCompletionTokensWithinARoomCostNoMoreThanIt() {
    TokenWeights third = new TokenWeights(1_000, 333, 1_000);
    for (long room = 0; room < 2_000; room++) {
      long tokens = third.completionTokensWithin(room);
      assertThat(third.completionUnits(tokens)).isLessThanOrEqualTo(room);
      assertThat(third.completionUnits(tokens + 1)).isGreaterThan(room);
    }
  }

  @Test
  void weightsHaveAtMostThreeDecimalsAndStayWithinBounds() {
    assertThatThrownBy(
            () -> TokenWeights.of(BigDecimal.ONE, new BigDecimal("0.0005"), BigDecimal.ONE))
        .hasMessageContaining("completion weight may have at most three decimals");
    assertThatThrownBy(
            () -> TokenWeights.of(new BigDecimal("1001"), BigDecimal.ONE, BigDecimal.ONE))
        .hasMessageContaining("prompt weight must be at most 1000");
    assertThatThrownBy(() -> TokenWeights.of(new BigDecimal("-1"), BigDecimal.ONE, BigDecimal.ONE))
        .hasMessageContaining("prompt weight must be between 0 and 1000");
  }
}
