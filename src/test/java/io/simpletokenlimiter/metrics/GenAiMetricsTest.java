package io.simpletokenlimiter.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.limit.TokenUsage;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The GenAI metrics as Prometheus scrapes them. */
class GenAiMetricsTest {

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final GenAiMetrics metrics =
      new GenAiMetrics(
          registry, new TokenLimitProperties.Model("llama3.2-1b", "meta/llama", "meta", 2048, 16));

  /**
   * Prometheus needs one set of label names per metric: a duration that ended in an error must not
   * be dropped because a served one registered the metric without {@code error_type} first.
   */
  @Test
  void servedAndFailedDurationsAreBothScraped() {
    metrics.recordOperation(
        "chat/completions",
        new TokenUsage(10, 5),
        Duration.ofMillis(30),
        "served",
        Optional.empty());
    metrics.recordOperation(
        "chat/completions",
        TokenUsage.NONE,
        Duration.ofMillis(20),
        "client_cancel",
        Optional.empty());
    metrics.recordOperation(
        "completions", TokenUsage.NONE, Duration.ofMillis(5), "upstream_error", Optional.empty());

    String scrape = registry.scrape();
    assertThat(scrape)
        .contains(
            "gen_ai_client_operation_duration_seconds_count{error_type=\"\","
                + "gen_ai_operation_name=\"chat\",gen_ai_request_model=\"llama3.2-1b\"} 1")
        .contains(
            "gen_ai_client_operation_duration_seconds_count{error_type=\"client_cancel\","
                + "gen_ai_operation_name=\"chat\",gen_ai_request_model=\"llama3.2-1b\"} 1")
        .contains(
            "gen_ai_client_operation_duration_seconds_count{error_type=\"upstream_error\","
                + "gen_ai_operation_name=\"text_completion\",gen_ai_request_model=\"llama3.2-1b\"} 1");
  }
}
