package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code http_server_requests_seconds}: one series per route, method, status, outcome and
 * exception, with the labels Spring's request observation gives them, which dashboards and alerts
 * select on.
 */
class RequestTimerTest extends ProxyIntegrationTest {

  @Test
  void eachKindOfAnswerIsCountedUnderItsRouteStatusAndException() {
    answeredChat("/v1/chat/completions");
    chatRejectedByTheDay("/api/v1/chat/completions");
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .header("Content-Type", "application/json")
        .bodyValue("{not json")
        .exchange()
        .expectStatus()
        .isBadRequest();
    client.get().uri("/v1/chat/completions").exchange().expectStatus().isEqualTo(405);
    client.get().uri("/nope").exchange().expectStatus().isNotFound();
    client
        .get()
        .uri("/api/v1/usage/" + USER)
        .header("X-User-ID", USER)
        .exchange()
        .expectStatus()
        .isOk();
    awaitAllSettled();

    String metrics = prometheus();

    assertThat(series(metrics))
        .contains(
            "error=\"none\",exception=\"none\",method=\"POST\",outcome=\"SUCCESS\","
                + "status=\"200\",uri=\"/v1/chat/completions\"",
            "error=\"RateLimitedException\",exception=\"RateLimitedException\",method=\"POST\","
                + "outcome=\"CLIENT_ERROR\",status=\"429\",uri=\"/api/v1/chat/completions\"",
            "error=\"ApiException\",exception=\"ApiException\",method=\"POST\","
                + "outcome=\"CLIENT_ERROR\",status=\"400\",uri=\"/v1/chat/completions\"",
            "error=\"MethodNotAllowedException\",exception=\"MethodNotAllowedException\","
                + "method=\"GET\",outcome=\"CLIENT_ERROR\",status=\"405\","
                + "uri=\"/v1/chat/completions\"",
            "error=\"NoResourceFoundException\",exception=\"NoResourceFoundException\","
                + "method=\"GET\",outcome=\"CLIENT_ERROR\",status=\"404\",uri=\"/**\"",
            "error=\"none\",exception=\"none\",method=\"GET\",outcome=\"SUCCESS\","
                + "status=\"200\",uri=\"/api/v1/usage/{userId}\"");
  }

  @Test
  void aRequestIsCountedOnce() {
    double before = modelsCount();

    client.get().uri("/v1/models").exchange().expectStatus().isOk();

    assertThat(modelsCount()).isEqualTo(before + 1);
  }

  private double modelsCount() {
    String metrics = prometheus();
    Matcher count =
        Pattern.compile(
                "(?m)^http_server_requests_seconds_count\\{[^\\n]*status=\"200\",uri=\"/v1/models\"} (\\S+)$")
            .matcher(metrics);
    return count.find() ? Double.parseDouble(count.group(1)) : 0;
  }

  /** The label sets of every http_server_requests_seconds_count series. */
  private static List<String> series(String metrics) {
    Matcher count =
        Pattern.compile("(?m)^http_server_requests_seconds_count\\{(.*)} \\S+$").matcher(metrics);
    return count.results().map(match -> match.group(1)).toList();
  }
}
