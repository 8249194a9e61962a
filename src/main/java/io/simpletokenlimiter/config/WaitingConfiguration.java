package io.simpletokenlimiter.config;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.simpletokenlimiter.limit.LayeredLimits;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.wait.LocalSettles;
import io.simpletokenlimiter.limit.wait.WaitEvents;
import io.simpletokenlimiter.limit.wait.WaitingAdmissions;
import java.time.Clock;
import java.time.Duration;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.Disposable;
import reactor.core.scheduler.Schedulers;

/** Wires waiting for room and the model's capacity over the limiter. */
@Configuration(proxyBeanMethods = false)
public class WaitingConfiguration {

  private static final Logger log = LoggerFactory.getLogger(WaitingConfiguration.class);

  /** One of the limiter's lease events: settles here wake the requests waiting for their room. */
  @Bean
  LocalSettles localSettles() {
    return new LocalSettles();
  }

  @Bean
  WaitingAdmissions waitingAdmissions(
      TokenLimiter limiter,
      LocalSettles settles,
      QueueProperties queue,
      UpstreamCapacityProperties upstream,
      LimitStore store,
      Clock clock,
      TokenLimitProperties properties,
      LayeredLimits limits,
      WaitEvents events) {
    WaitingAdmissions.Settings settings =
        new WaitingAdmissions.Settings(
            queue.maxWaitingPerUser(),
            queue.maxWaiting(),
            upstream
                .capacity()
                .map(
                    size ->
                        new WaitingAdmissions.CapacitySettings(
                            size,
                            store,
                            clock,
                            properties.leaseTtl(),
                            properties.maxLeaseLifetime())));
    return WaitingAdmissions.over(
        limiter, settles, settings, shares(limits, queue), events, Schedulers.parallel());
  }

  /**
   * A user's share of the model's turns: their tier's {@code share} in the overrides file, else
   * {@code token.limit.queue.shares.<tier>}, else 1 (also for users without a tier). Asked each
   * time a user starts waiting for the model, so a reloaded file applies from the user's next wait.
   */
  static ToIntFunction<String> shares(LayeredLimits limits, QueueProperties queue) {
    queue
        .shares()
        .forEach(
            (tier, share) ->
                limits
                    .tierShare(tier)
                    .filter(inFile -> !inFile.equals(share))
                    .ifPresent(
                        inFile ->
                            log.warn(
                                "Tier {} has share {} in the overrides file and {} in"
                                    + " token.limit.queue.shares.{}; the file's applies",
                                tier,
                                inFile,
                                share,
                                tier)));
    return userId ->
        limits
            .explain(userId)
            .tier()
            .map(tier -> limits.tierShare(tier).orElseGet(() -> queue.shareOf(tier)))
            .orElse(1);
  }

  /** {@code requests_waiting}: requests waiting on this replica for room or for the model. */
  @Bean
  MeterBinder waitingGauge(WaitingAdmissions admissions) {
    return registry ->
        Gauge.builder("requests_waiting", admissions, WaitingAdmissions::waiting)
            .description("Requests waiting on this replica for room in their limits or the model")
            .register(registry);
  }

  /** Renews the leases of the model's slots held here, as the limiter's upkeep does its own. */
  @Bean
  SmartLifecycle capacityLeaseRenewal(
      WaitingAdmissions admissions, TokenLimitProperties properties) {
    return new SmartLifecycle() {
      private volatile Disposable renewals;

      @Override
      public void start() {
        Duration renewEvery = properties.leaseTtl().dividedBy(3);
        renewals =
            Periodically.run(
                "Capacity lease renewal", renewEvery, renewEvery, admissions::renewCapacityLeases);
      }

      @Override
      public void stop() {
        renewals.dispose();
      }

      @Override
      public boolean isRunning() {
        return renewals != null && !renewals.isDisposed();
      }
    };
  }
}
