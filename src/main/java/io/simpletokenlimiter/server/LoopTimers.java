package io.simpletokenlimiter.server;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.netty.util.internal.ThreadExecutorMap;
import java.util.concurrent.TimeUnit;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Timers for a request's deadlines ({@code timeout(duration, LoopTimers.INSTANCE)}) on the event
 * loop that serves the request: arming and cancelling one is a queue operation on that thread. On
 * Reactor's default timer every request's deadline was put into and taken out of a locked queue
 * shared with another thread, and fired there (no change in CPU per request was measurable on the
 * 2-core bench host, whose noise is about 10 %). From a thread that is no event loop, the timers
 * are Reactor's parallel ones. The loop is found with Netty's {@code ThreadExecutorMap}, which
 * every Netty event loop thread sets; it lives in an internal package, so an upgrade may move it.
 */
public final class LoopTimers implements Scheduler {

  public static final LoopTimers INSTANCE = new LoopTimers();

  private LoopTimers() {}

  @Override
  public Disposable schedule(Runnable task) {
    return schedule(task, 0, TimeUnit.NANOSECONDS);
  }

  @Override
  public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
    EventExecutor loop = ThreadExecutorMap.currentExecutor();
    if (loop == null) {
      return Schedulers.parallel().schedule(task, delay, unit);
    }
    ScheduledFuture<?> timer = loop.schedule(task, delay, unit);
    return () -> timer.cancel(false);
  }

  /** Timeouts schedule on the scheduler itself; anything asking for a worker gets Reactor's. */
  @Override
  public Worker createWorker() {
    return Schedulers.parallel().createWorker();
  }

  /** Shared, like the event loops it schedules on: nothing of its own to release. */
  @Override
  public void dispose() {}
}
