package io.simpletokenlimiter.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

@Timeout(30)
class PeriodicallyTest {

  private static final Duration PERIOD = Duration.ofMillis(5);

  /** As a renewal round waiting on a frozen Redis: far more ticks pass than a queue would hold. */
  @Test
  void aRunThatOutlastsManyPeriodsSkipsTheirTicksAndTheTaskGoesOnAfterIt() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    Sinks.Empty<Void> stuck = Sinks.empty();
    Disposable task =
        Periodically.run(
            "test task",
            Duration.ZERO,
            PERIOD,
            () -> runs.incrementAndGet() == 1 ? stuck.asMono() : Mono.empty());
    try {
      Thread.sleep(PERIOD.multipliedBy(100).toMillis());
      assertThat(runs).as("one run at a time").hasValue(1);

      stuck.tryEmitEmpty();

      await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() >= 3);
    } finally {
      task.dispose();
    }
  }

  @Test
  void aFailedRunIsFollowedByTheNext() {
    AtomicInteger runs = new AtomicInteger();
    Disposable task =
        Periodically.run(
            "test task",
            Duration.ZERO,
            PERIOD,
            () -> {
              runs.incrementAndGet();
              return Mono.error(new IllegalStateException("store down"));
            });
    try {
      await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() >= 3);
    } finally {
      task.dispose();
    }
  }
}
