package io.simpletokenlimiter.config;

import java.time.Duration;
import java.util.function.Supplier;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Runs a background task (lease renewals, heartbeats, refreshes, flushes) every period, one run at
 * a time. A run that outlasts its period, as one waiting on a frozen Redis does, makes the ticks
 * meanwhile be skipped, not queued: queued, {@link Flux#interval} fails once its subscriber's queue
 * is full, and the task would never run again. A failed run is logged and the next tick runs anew.
 */
public final class Periodically {

  private static final Logger log = LoggerFactory.getLogger(Periodically.class);

  private Periodically() {}

  /** Runs {@code task} after {@code first}, then every {@code period}; dispose to stop. */
  public static Disposable run(
      String name, Duration first, Duration period, Supplier<? extends Publisher<?>> task) {
    return Flux.interval(first, period)
        .onBackpressureDrop()
        .concatMap(
            tick ->
                Flux.from(task.get())
                    .onErrorResume(
                        error -> {
                          log.warn(
                              "{} failed; it runs again in {}: {}", name, period, error.toString());
                          return Mono.empty();
                        }),
            1)
        .subscribe();
  }
}
