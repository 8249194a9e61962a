package io.simpletokenlimiter.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;

class UsageWarningsTest {

  private static final long T0 = 1_800_000_000_000L;
  private final UsageWarnings warnings =
      new UsageWarnings(List.of(95, 80), new CalendarMonth(ZoneId.of("Asia/Seoul")));

  @Test
  void belowEveryThresholdNothingIsSaid() {
    assertThat(warnings.check("alice", quota(LimitType.MINUTE, 1_000, 201), T0)).isEmpty();
  }

  @Test
  void theHighestThresholdReachedIsReportedFirstOncePerPeriod() {
    UsageWarnings.Warning first =
        warnings.check("alice", quota(LimitType.MINUTE, 1_000, 200), T0).orElseThrow();
    assertThat(first)
        .isEqualTo(new UsageWarnings.Warning(LimitType.MINUTE, LimitScope.USER, 80, 80, true));

    assertThat(warnings.check("alice", quota(LimitType.MINUTE, 1_000, 150), T0 + 1_000))
        .hasValueSatisfying(again -> assertThat(again.firstInPeriod()).isFalse());
    assertThat(warnings.check("alice", quota(LimitType.MINUTE, 1_000, 40), T0 + 2_000))
        .hasValueSatisfying(
            higher -> {
              assertThat(higher.threshold()).isEqualTo(95);
              assertThat(higher.firstInPeriod()).isTrue();
            });
    assertThat(warnings.check("bob", quota(LimitType.MINUTE, 1_000, 200), T0 + 2_000))
        .hasValueSatisfying(other -> assertThat(other.firstInPeriod()).isTrue());
    long nextMinute = (T0 / 60_000 + 1) * 60_000;
    assertThat(warnings.check("alice", quota(LimitType.MINUTE, 1_000, 200), nextMinute))
        .hasValueSatisfying(later -> assertThat(later.firstInPeriod()).isTrue());
  }

  @Test
  void aMonthsPeriodIsTheCalendarMonthAndTheTeamIsApart() {
    Quota team = new Quota(LimitType.MONTH, 1_000, 50, 0, 5, 1, LimitScope.TEAM);
    assertThat(warnings.check("alice", team, T0).orElseThrow().scope()).isEqualTo(LimitScope.TEAM);
    assertThat(warnings.check("alice", team, T0 + 86_400_000L).orElseThrow().firstInPeriod())
        .isFalse();
    assertThat(warnings.check("alice", quota(LimitType.MONTH, 1_000, 50), T0).orElseThrow())
        .extracting(UsageWarnings.Warning::firstInPeriod)
        .isEqualTo(true);
  }

  @Test
  void unlimitedWindowsAndNoThresholdsNeverWarn() {
    assertThat(warnings.check("alice", quota(LimitType.MINUTE, Limits.UNLIMITED, -1), T0))
        .isEmpty();
    assertThat(
            new UsageWarnings(List.of(), CalendarMonth.UTC)
                .check("alice", quota(LimitType.MINUTE, 1_000, 0), T0))
        .isEmpty();
    assertThatThrownBy(() -> new UsageWarnings(List.of(0), CalendarMonth.UTC))
        .hasMessageContaining("token.limit.warning-thresholds");
  }

  private static Quota quota(LimitType window, long limit, long remaining) {
    return new Quota(window, limit, remaining, 0, 5, 1);
  }
}
