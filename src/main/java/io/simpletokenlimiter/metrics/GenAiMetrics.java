package io.simpletokenlimiter.metrics;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.limit.TokenUsage;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/**
 * OpenTelemetry's GenAI client metrics, next to the service's own names: {@code
 * gen_ai.client.token.usage} (tokens per request by {@code gen_ai.token.type}), {@code
 * gen_ai.client.operation.duration} and, for streams, {@code
 * gen_ai.client.operation.time_to_first_chunk}. Labels are bounded: operation, model, token type,
 * error type.
 */
@Component
public class GenAiMetrics {

  /** OpenTelemetry's advised buckets for token counts: powers of four. */
  private static final double[] TOKEN_BUCKETS = {
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576
  };

  /** OpenTelemetry's advised buckets for GenAI durations, in seconds. */
  private static final Duration[] DURATION_BUCKETS =
      java.util.stream.DoubleStream.of(
              0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96,
              81.92)
          .mapToObj(seconds -> Duration.ofNanos((long) (seconds * 1e9)))
          .toArray(Duration[]::new);

  private final MeterRegistry registry;
  private final String model;
  private final Map<String, DistributionSummary> tokens = new ConcurrentHashMap<>();
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();

  public GenAiMetrics(MeterRegistry registry, TokenLimitProperties.Model model) {
    this.registry = registry;
    this.model = model.publicName();
  }

  /**
   * One finished request: its endpoint ({@code chat/completions} or {@code completions}), the
   * tokens charged, how long it took and how it ended.
   */
  public void recordOperation(
      String endpoint,
      TokenUsage charged,
      Duration duration,
      String outcome,
      Optional<Long> timeToFirstChunkNanos) {
    String operation = endpoint.equals("chat/completions") ? "chat" : "text_completion";
    if (charged.total() > 0) {
      tokenSummary(operation, "input").record(charged.promptTokens());
      tokenSummary(operation, "output").record(charged.completionTokens());
    }
    // Empty when served: Prometheus needs the same label names on every series of a metric, and
    // an empty label is no label to PromQL.
    String errorType = outcome.equals("served") ? "" : outcome;
    timer("gen_ai.client.operation.duration", operation, Optional.of(errorType)).record(duration);
    timeToFirstChunkNanos.ifPresent(
        nanos ->
            timer("gen_ai.client.operation.time_to_first_chunk", operation, Optional.empty())
                .record(Duration.ofNanos(nanos)));
  }

  private DistributionSummary tokenSummary(String operation, String type) {
    return tokens.computeIfAbsent(
        operation + "/" + type,
        key ->
            DistributionSummary.builder("gen_ai.client.token.usage")
                .description("Tokens used per request, as charged")
                .tag("gen_ai.operation.name", operation)
                .tag("gen_ai.request.model", model)
                .tag("gen_ai.token.type", type)
                .serviceLevelObjectives(TOKEN_BUCKETS)
                .register(registry));
  }

  /** {@code errorType}: present on every series of a metric that has it, absent on the others. */
  private Timer timer(String name, String operation, Optional<String> errorType) {
    return timers.computeIfAbsent(
        name + "/" + operation + "/" + errorType.orElse(""),
        key -> {
          Timer.Builder builder =
              Timer.builder(name)
                  .tag("gen_ai.operation.name", operation)
                  .tag("gen_ai.request.model", model);
          errorType.ifPresent(type -> builder.tag("error.type", type));
          return builder.serviceLevelObjectives(DURATION_BUCKETS).register(registry);
        });
  }
}
