package io.simpletokenlimiter.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * The service's own meters. Prometheus names: {@code token_usage_total{type,model}}, {@code
 * rate_limit_exceeded_total{limit_type}}, {@code concurrent_requests_current} and {@code
 * upstream_request_duration_seconds{outcome}} and {@code limiter_decision_seconds{outcome}}. No
 * label carries a user id: one series per user would grow without bound.
 */
@Component
public class ProxyMetrics {

  private final MeterRegistry registry;
  private final Counter promptTokens;
  private final Counter completionTokens;
  private final Map<LimitType, Counter> rejections = new EnumMap<>(LimitType.class);
  private final AtomicInteger inFlight = new AtomicInteger();

  public ProxyMetrics(MeterRegistry registry, TokenLimitProperties properties) {
    this.registry = registry;
    String model = properties.model().publicName();
    this.promptTokens = tokenCounter(registry, "prompt", model);
    this.completionTokens = tokenCounter(registry, "completion", model);
    for (LimitType type : LimitType.values()) {
      rejections.put(
          type,
          Counter.builder("rate_limit_exceeded")
              .description("Requests rejected by a limit")
              .tag("limit_type", type.label())
              .register(registry));
    }
    registry.gauge("concurrent_requests_current", inFlight);
  }

  private static Counter tokenCounter(MeterRegistry registry, String type, String model) {
    return Counter.builder("token_usage")
        .description("Tokens charged to users, as settled")
        .tag("type", type)
        .tag("model", model)
        .register(registry);
  }

  public void requestAdmitted() {
    inFlight.incrementAndGet();
  }

  public void requestSettled(long promptTokensCharged, long completionTokensCharged) {
    inFlight.decrementAndGet();
    promptTokens.increment(promptTokensCharged);
    completionTokens.increment(completionTokensCharged);
  }

  public void rejected(LimitType limitType) {
    rejections.get(limitType).increment();
  }

  /** Times the limiter's decision (one store round trip): {@code limiter_decision_seconds}. */
  public Mono<Admission> timeDecision(Mono<Admission> decision) {
    return Mono.defer(
        () -> {
          Timer.Sample sample = Timer.start(registry);
          return decision
              .doOnSuccess(admission -> sample.stop(decisionTimer(outcomeOf(admission))))
              .doOnError(error -> sample.stop(decisionTimer("error")));
        });
  }

  private static String outcomeOf(Admission admission) {
    if (admission instanceof Admission.Admitted) {
      return "admitted";
    }
    return admission instanceof Admission.Rejected ? "rejected" : "too_large";
  }

  private Timer decisionTimer(String outcome) {
    return Timer.builder("limiter_decision")
        .description("Time the limiter took to admit or reject a request")
        .tag("outcome", outcome)
        .register(registry);
  }

  public Timer.Sample startUpstreamCall() {
    return Timer.start(registry);
  }

  /** Time from sending the request to vLLM until its status line arrived (or the call failed). */
  public void upstreamCallEnded(Timer.Sample sample, String outcome) {
    sample.stop(
        Timer.builder("upstream_request_duration")
            .description("Time until vLLM answered with a status line")
            .tag("outcome", outcome)
            .register(registry));
  }
}
