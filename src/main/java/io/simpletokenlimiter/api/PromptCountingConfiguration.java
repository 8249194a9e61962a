package io.simpletokenlimiter.api;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Threads for tokenizing large prompts, off the event loop and apart from Reactor's shared
 * schedulers: a pathological megabyte can take a second of CPU, which must delay neither timers nor
 * other requests' I/O. One thread per core, since the work is CPU-bound.
 */
@Configuration(proxyBeanMethods = false)
public class PromptCountingConfiguration {

  public static final String SCHEDULER = "promptCountingScheduler";

  private static final int QUEUED_TASKS_PER_THREAD = 1_000;

  @Bean(name = SCHEDULER, destroyMethod = "dispose")
  Scheduler promptCountingScheduler() {
    int threads = Runtime.getRuntime().availableProcessors();
    return Schedulers.newBoundedElastic(
        threads, threads * QUEUED_TASKS_PER_THREAD, "prompt-counting");
  }
}
