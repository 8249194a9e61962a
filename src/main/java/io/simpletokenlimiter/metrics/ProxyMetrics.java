package io.simpletokenlimiter.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseEvents;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.RateLimitedException;
import io.simpletokenlimiter.limit.RequestTooLargeException;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.limit.UsageWarnings;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * The service's own meters. Prometheus names: {@code token_usage_total{type,model}}, {@code
 * rate_limit_exceeded_total{limit_type}}, {@code upstream_request_duration_seconds{outcome}},
 * {@code limiter_decision_seconds{outcome}}, {@code upstream_usage_over_reservation_total} and
 * {@code lease_safety_net_releases_total} ({@code concurrent_requests_current} is the limiter's own
 * count). No label carries a user id: one series per user would grow without bound.
 */
@Component
public class ProxyMetrics implements LeaseEvents {

  private static final Logger log = LoggerFactory.getLogger(ProxyMetrics.class);

  private final MeterRegistry registry;
  private final Counter promptTokens;
  private final Counter completionTokens;
  private final Counter cachedPromptTokens;
  private final Counter chargedUnits;
  private final Counter overReported;
  private final Counter safetyNetReleases;
  private final Map<LimitType, Counter> rejections = new EnumMap<>(LimitType.class);
  private final Map<String, Timer> decisionTimers = new ConcurrentHashMap<>();
  private final Map<String, Timer> upstreamTimers = new ConcurrentHashMap<>();

  public ProxyMetrics(MeterRegistry registry, TokenLimitProperties.Model model) {
    this.registry = registry;
    this.promptTokens = tokenCounter(registry, "prompt", model.publicName());
    this.completionTokens = tokenCounter(registry, "completion", model.publicName());
    this.cachedPromptTokens = tokenCounter(registry, "cached_prompt", model.publicName());
    this.chargedUnits =
        Counter.builder("token_usage_units")
            .description(
                "Units charged to users, as settled: tokens weighted by token.limit.weights (what"
                    + " the limits count)")
            .tag("model", model.publicName())
            .register(registry);
    for (LimitType type : LimitType.values()) {
      rejections.put(
          type,
          Counter.builder("rate_limit_exceeded")
              .description("Requests rejected by a limit")
              .tag("limit_type", type.label())
              .register(registry));
    }
    this.overReported =
        Counter.builder("upstream_usage_over_reservation")
            .description("Answers whose reported usage exceeded the reservation (charged capped)")
            .register(registry);
    this.safetyNetReleases =
        Counter.builder("lease_safety_net_releases")
            .description("Leases released by the renewal because no path settled them (a bug)")
            .register(registry);
  }

  private static Counter tokenCounter(MeterRegistry registry, String type, String model) {
    return Counter.builder("token_usage")
        .description("Tokens charged to users, as settled")
        .tag("type", type)
        .tag("model", model)
        .register(registry);
  }

  @Override
  public void settled(Lease lease, TokenUsage charged) {
    promptTokens.increment(charged.promptTokens());
    completionTokens.increment(charged.completionTokens());
    cachedPromptTokens.increment(charged.cachedPromptTokens());
    lease.chargedUnits().ifPresent(chargedUnits::increment);
  }

  /**
   * {@code limit_warnings_total{window, scope, threshold}}: a user (no user label) reached a
   * warning threshold for the first time in a period of the window.
   */
  public void warned(UsageWarnings.Warning warning) {
    if (warning.firstInPeriod()) {
      Counter.builder("limit_warnings")
          .description("Users who reached a warning threshold of a limit, once per window period")
          .tag("window", warning.window().label())
          .tag("scope", warning.scope().label())
          .tag("threshold", Integer.toString(warning.threshold()))
          .register(registry)
          .increment();
    }
  }

  @Override
  public void overReported(Lease lease, TokenUsage reported) {
    overReported.increment();
    log.warn(
        "vLLM reported {} tokens for lease {} of {}, which reserved {}; charging the reservation",
        reported.total(),
        lease.id(),
        lease.userId(),
        lease.reservedTokens());
  }

  @Override
  public void releasedBySafetyNet(Lease lease) {
    safetyNetReleases.increment();
  }

  /**
   * Times the limiter's decision (one store round trip), {@code limiter_decision_seconds}, and
   * counts rejections.
   */
  public Mono<Lease> timeAdmission(Mono<Lease> decision) {
    return Mono.defer(
        () -> {
          Timer.Sample sample = Timer.start(registry);
          return decision
              .doOnSuccess(lease -> sample.stop(decisionTimer("admitted")))
              .doOnError(
                  error -> {
                    if (error instanceof RateLimitedException rateLimited) {
                      rejections.get(rateLimited.rejection().limitType()).increment();
                      sample.stop(decisionTimer("rejected"));
                    } else {
                      sample.stop(
                          decisionTimer(
                              error instanceof RequestTooLargeException ? "too_large" : "error"));
                    }
                  });
        });
  }

  private Timer decisionTimer(String outcome) {
    return decisionTimers.computeIfAbsent(
        outcome,
        name ->
            Timer.builder("limiter_decision")
                .description("Time the limiter took to admit or reject a request")
                .tag("outcome", name)
                .register(registry));
  }

  public Timer.Sample startUpstreamCall() {
    return Timer.start(registry);
  }

  /** Time from sending the request to vLLM until its status line arrived (or the call failed). */
  public void upstreamCallEnded(Timer.Sample sample, String outcome) {
    sample.stop(
        upstreamTimers.computeIfAbsent(
            outcome,
            name ->
                Timer.builder("upstream_request_duration")
                    .description("Time until vLLM answered with a status line")
                    .tag("outcome", name)
                    .register(registry)));
  }
}
