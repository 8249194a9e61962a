package io.simpletokenlimiter.config;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.simpletokenlimiter.identity.ApiKeyUserIdResolver;
import io.simpletokenlimiter.limit.ConfiguredLimits;
import io.simpletokenlimiter.limit.LayeredLimits;
import io.simpletokenlimiter.limit.LeaseEvents;
import io.simpletokenlimiter.limit.LimitsResolver;
import io.simpletokenlimiter.limit.RuntimeLimits;
import io.simpletokenlimiter.limit.TeamMove;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.UsageWarnings;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.limit.store.memory.MemoryRuntimeLimits;
import io.simpletokenlimiter.limit.store.memory.MemoryStoreProperties;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** Wires the limiter: its clock, the per-user limits, the store and the background upkeep. */
@Configuration(proxyBeanMethods = false)
public class LimiterConfiguration {

  @Bean
  @ConditionalOnMissingBean
  Clock clock() {
    return Clock.systemUTC();
  }

  /** The model's settings, for the classes that need only those. */
  @Bean
  TokenLimitProperties.Model modelSettings(TokenLimitProperties properties) {
    return properties.model();
  }

  /** vLLM's client settings, for the classes that need only those. */
  @Bean
  TokenLimitProperties.Upstream upstreamSettings(TokenLimitProperties properties) {
    return properties.upstream();
  }

  /** The defaults, and the overrides file if there is one. */
  @Bean
  ConfiguredLimits configuredLimits(TokenLimitProperties properties) {
    return properties
        .overrides()
        .<ConfiguredLimits>map(
            path ->
                new LimitOverridesFile(
                    path, properties.defaultLimits(), properties.weights().tokenWeights()))
        .orElseGet(
            () ->
                ConfiguredLimits.of(
                    properties.defaultLimits(), properties.weights().tokenWeights()));
  }

  /** Run-time limits of this replica; with Redis, a shared {@code @Primary} one replaces it. */
  @Bean
  MemoryRuntimeLimits memoryRuntimeLimits() {
    return new MemoryRuntimeLimits();
  }

  /** Run-time limits over the configuration: what every admission asks. */
  @Bean
  LayeredLimits limitsResolver(
      ConfiguredLimits configuredLimits,
      RuntimeLimits runtimeLimits,
      TokenLimitProperties properties) {
    Map<String, String> keyTeams =
        properties.apiKeys().map(ApiKeyUserIdResolver::teamsIn).orElse(Map.of());
    try {
      return new LayeredLimits(configuredLimits, runtimeLimits, keyTeams);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("token.limit.api-keys-file: " + e.getMessage(), e);
    }
  }

  /** Every replica's fallback and the single-machine default, with a cap on users tracked. */
  @Bean
  MemoryLimitStore memoryLimitStore(
      MemoryStoreProperties properties, MeterRegistry registry, TokenLimitProperties limits) {
    return new MemoryLimitStore(
        properties.maxUsersFor(Runtime.getRuntime().maxMemory()), registry, limits.calendar());
  }

  @Bean
  TokenLimiter tokenLimiter(
      LimitStore limitStore,
      LimitsResolver limitsResolver,
      Clock clock,
      TokenLimitProperties properties,
      List<LeaseEvents> leaseEvents) {
    return TokenLimiter.strict(
        limitStore,
        limitsResolver,
        clock,
        properties.leaseTtl(),
        properties.maxLeaseLifetime(),
        LeaseEvents.all(leaseEvents));
  }

  /** Warnings before the hard stop, at {@code token.limit.warning-thresholds}. */
  @Bean
  UsageWarnings usageWarnings(TokenLimitProperties properties) {
    return new UsageWarnings(properties.warningThresholds(), properties.calendar());
  }

  /** {@code concurrent_requests_current}: the leases this replica holds. */
  @Bean
  MeterBinder inFlightGauge(TokenLimiter limiter) {
    return registry ->
        Gauge.builder("concurrent_requests_current", limiter, TokenLimiter::inFlight)
            .description("Requests in flight on this replica, from admission to the last byte")
            .register(registry);
  }

  @Bean
  LimiterUpkeep limiterUpkeep(
      TokenLimiter limiter,
      MemoryLimitStore memoryStore,
      ConfiguredLimits configuredLimits,
      RuntimeLimits runtimeLimits,
      Clock clock,
      TokenLimitProperties properties) {
    return new LimiterUpkeep(
        limiter, memoryStore, configuredLimits, runtimeLimits, clock, properties);
  }

  /**
   * Periodic work off the request path: renewing leases of requests in flight (every third of the
   * lease TTL), sweeping idle users from memory, reloading the overrides file, and refreshing this
   * replica's view of the run-time limits.
   */
  static final class LimiterUpkeep implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(LimiterUpkeep.class);

    private final TokenLimiter limiter;
    private final MemoryLimitStore memoryStore;
    private final ConfiguredLimits configuredLimits;
    private final RuntimeLimits runtimeLimits;
    private final Clock clock;
    private final TokenLimitProperties properties;
    private volatile Disposable tasks;

    LimiterUpkeep(
        TokenLimiter limiter,
        MemoryLimitStore memoryStore,
        ConfiguredLimits configuredLimits,
        RuntimeLimits runtimeLimits,
        Clock clock,
        TokenLimitProperties properties) {
      this.limiter = limiter;
      this.memoryStore = memoryStore;
      this.configuredLimits = configuredLimits;
      this.runtimeLimits = runtimeLimits;
      this.clock = clock;
      this.properties = properties;
    }

    @Override
    public void start() {
      Duration renewEvery = properties.leaseTtl().dividedBy(3);
      Disposable renewals =
          Periodically.run("Lease renewal", renewEvery, renewEvery, limiter::renewLeases);
      Disposable sweeps =
          Flux.interval(Duration.ofMinutes(1))
              .subscribe(tick -> memoryStore.evictIdle(clock.millis()));
      if (configuredLimits instanceof LimitOverridesFile file) {
        file.onTeamMoves(this::carryOver);
      }
      Disposable reloads =
          configuredLimits instanceof LimitOverridesFile file
              ? Flux.interval(properties.overridesReloadInterval(), Schedulers.boundedElastic())
                  .subscribe(tick -> file.reloadIfChanged())
              : Disposables.single();
      Disposable refreshes =
          Periodically.run(
              "Run-time limits refresh",
              properties.runtimeLimitsRefresh(),
              properties.runtimeLimitsRefresh(),
              runtimeLimits::refresh);
      tasks = Disposables.composite(renewals, sweeps, reloads, refreshes);
    }

    /** Waits for the carries: the next reload must not race a move still on its way. */
    private void carryOver(List<TeamMove> moves) {
      Flux.fromIterable(moves)
          .concatMap(
              move ->
                  limiter
                      .carryOver(move)
                      .onErrorResume(
                          error -> {
                            log.error(
                                "Could not carry the usage of {} from team {} to {}: {}",
                                move.userId(),
                                move.from().orElse("(none)"),
                                move.to().orElse("(none)"),
                                error.toString());
                            return Mono.empty();
                          }))
          .blockLast();
    }

    @Override
    public void stop() {
      tasks.dispose();
    }

    @Override
    public boolean isRunning() {
      return tasks != null && !tasks.isDisposed();
    }
  }
}
