package io.simpletokenlimiter.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LimitsTest {

  private static final long TEN_TO_THE_15 = 1_000_000_000_000_000L;

  @Test
  void acceptsLimitsUpToTenToThe15AndUnlimited() {
    Limits limits = new Limits(TEN_TO_THE_15, Limits.UNLIMITED, TEN_TO_THE_15, 1);

    assertThat(limits.tokens(Window.MINUTE)).isEqualTo(TEN_TO_THE_15);
    assertThat(limits.limits(Window.HOUR)).isFalse();
  }

  @Test
  void refusesTokenLimitsAboveTenToThe15NamingTheLimit() {
    assertThatThrownBy(() -> new Limits(TEN_TO_THE_15 + 1, 10, 10, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "tokens per minute limit must be at most 1000000000000000, or -1 for unlimited,"
                + " was 1000000000000001");
    assertThatThrownBy(() -> new Limits(10, Long.MAX_VALUE, 10, 1))
        .hasMessageStartingWith("tokens per hour limit must be at most 1000000000000000");
    assertThatThrownBy(() -> new Limits(10, 10, 1L << 53, 1))
        .hasMessageStartingWith("tokens per day limit must be at most 1000000000000000");
  }

  @Test
  void refusesZeroAndNegativeLimitsOtherThanUnlimited() {
    assertThatThrownBy(() -> new Limits(0, 10, 10, 1))
        .hasMessage("tokens per minute limit must be at least 1, or -1 for unlimited, was 0");
    assertThatThrownBy(() -> new Limits(10, -2, 10, 1))
        .hasMessageStartingWith("tokens per hour limit must be at least 1");
    assertThatThrownBy(() -> new Limits(10, 10, 10, 0))
        .hasMessage("concurrent requests limit must be at least 1, was 0");
  }
}
