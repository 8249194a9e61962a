package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GoDurationTest {

  @ParameterizedTest
  @CsvSource({
    "0, 0s",
    "-5, 0s",
    "1, 1ms",
    "250, 250ms",
    "1000, 1s",
    "1500, 1.5s",
    "1050, 1.05s",
    "1005, 1.005s",
    "1010, 1.01s",
    "1100, 1.1s",
    "59999, 59.999s",
    "60000, 1m0s",
    "360000, 6m0s",
    "3600000, 1h0m0s",
    "3723400, 1h2m3.4s",
    "86400000, 24h0m0s"
  })
  void formatsLikeGo(long millis, String expected) {
    assertThat(GoDuration.format(millis)).isEqualTo(expected);
  }
}
