package io.simpletokenlimiter.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.simpletokenlimiter.limit.wait.WaitEvents;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.springframework.stereotype.Component;

/**
 * {@code request_wait_seconds{outcome}}: how long requests waited for room, by how the wait ended
 * ({@code admitted}, {@code rejected}, {@code cancelled}, {@code failed}). The gauge of requests
 * waiting now, {@code requests_waiting}, is the queue's own count.
 */
@Component
public class WaitMetrics implements WaitEvents {

  private final Map<WaitOutcome, Timer> timers = new EnumMap<>(WaitOutcome.class);

  public WaitMetrics(MeterRegistry registry) {
    for (WaitOutcome outcome : WaitOutcome.values()) {
      timers.put(
          outcome,
          Timer.builder("request_wait")
              .description("Time requests waited for room in their limits or the model")
              .tag("outcome", outcome.label())
              .register(registry));
    }
  }

  @Override
  public void waited(WaitOutcome outcome, Duration waited) {
    timers.get(outcome).record(waited);
  }
}
