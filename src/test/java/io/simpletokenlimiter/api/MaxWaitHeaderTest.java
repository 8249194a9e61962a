package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.simpletokenlimiter.config.QueueProperties;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpHeaders;

class MaxWaitHeaderTest {

  private final MaxWaitHeader header =
      new MaxWaitHeader(
          new QueueProperties(
              Duration.ofSeconds(2), Duration.ofSeconds(60), 100, 10_000, Map.of()));

  @Test
  void withoutTheHeaderTheDeploymentsDefault() {
    assertThat(header.of(new HttpHeaders())).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void secondsWithDecimals() {
    assertThat(header.of(asking("0.25"))).isEqualTo(Duration.ofMillis(250));
    assertThat(header.of(asking(".5"))).isEqualTo(Duration.ofMillis(500));
    assertThat(header.of(asking("10"))).isEqualTo(Duration.ofSeconds(10));
    assertThat(header.of(asking("0"))).isZero();
  }

  @Test
  void aLongerWaitIsCutToTheCeiling() {
    assertThat(header.of(asking("3600"))).isEqualTo(Duration.ofSeconds(60));
    assertThat(header.of(asking("999999999.999999999"))).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void anythingElseIsAnInvalidRequest() {
    for (String value : new String[] {"", "soon", "-1", "1e3", "1,5", "1.", "PT5S", "١"}) {
      assertThatThrownBy(() -> header.of(asking(value)))
          .as("'%s'", value)
          .isInstanceOfSatisfying(
              ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_request"));
    }
    HttpHeaders twice = asking("1");
    twice.add(MaxWaitHeader.NAME, "2");
    assertThatThrownBy(() -> header.of(twice)).isInstanceOf(ApiException.class);
  }

  private static HttpHeaders asking(String seconds) {
    HttpHeaders headers = new HttpHeaders();
    headers.set(MaxWaitHeader.NAME, seconds);
    return headers;
  }
}
