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
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/** Wires waiting for room and the model's capacity over the limiter. */
@Configuration(proxyBeanMethods = false)
public class WaitingConfiguration {

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
        limiter,
        settles,
        settings,
        userId -> limits.explain(userId).tier().map(queue::shareOf).orElse(1),
        events,
        Schedulers.parallel());
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
        renewals =
            Flux.interval(properties.leaseTtl().dividedBy(3))
                .concatMap(tick -> admissions.renewCapacityLeases())
                .subscribe();
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
