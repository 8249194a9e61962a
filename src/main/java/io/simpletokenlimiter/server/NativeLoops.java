package io.simpletokenlimiter.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.NonBlocking;
import reactor.netty.resources.LoopResources;

/**
 * The HTTP event loops on one of Linux's transports (io_uring, epoll), made here rather than by
 * Reactor Netty because it has no switch between the two and no way to wrap a loop's transport (to
 * busy-poll). One group serves the server and the clients on its loops (vLLM's, Redis's), as
 * Reactor Netty's own resources do; its threads are named as Reactor Netty names them and are
 * Reactor's non-blocking ones, so that a blocking call on them fails as it does on Reactor Netty's
 * loops.
 */
final class NativeLoops implements LoopResources {

  /** How long past its timeout a loop's shutdown is waited for. */
  private static final Duration STRAGGLERS = Duration.ofSeconds(5);

  private static final Logger log = LoggerFactory.getLogger(NativeLoops.class);

  private final EventLoopGroup group;
  private final Duration stragglers;

  /**
   * @param transport the transport's name in the threads' names ({@code io_uring}, {@code epoll})
   */
  NativeLoops(String transport, int threads, IoHandlerFactory handlers) {
    this(transport, threads, handlers, STRAGGLERS);
  }

  NativeLoops(String transport, int threads, IoHandlerFactory handlers, Duration stragglers) {
    this.group = new MultiThreadIoEventLoopGroup(threads, new LoopThreads(transport), handlers);
    this.stragglers = stragglers;
  }

  @Override
  public EventLoopGroup onServer(boolean useNative) {
    return group;
  }

  @Override
  public boolean isDisposed() {
    return group.isShutdown();
  }

  /**
   * Stops the loops gracefully, and waits for them up to {@code timeout} and a few seconds more. A
   * loop still running then is left to end with the JVM (its threads are daemons), with a warning:
   * an io_uring loop can wait in its last drain of the ring for an operation that the kernel has
   * not completed, and Spring's shutdown would otherwise wait for it without end.
   */
  @Override
  public Mono<Void> disposeLater(Duration quietPeriod, Duration timeout) {
    Duration bound = quietPeriod.plus(timeout).plus(stragglers);
    return Mono.defer(
            () -> {
              Future<?> shutdown =
                  group.shutdownGracefully(
                      quietPeriod.toMillis(), timeout.toMillis(), TimeUnit.MILLISECONDS);
              return Mono.<Void>create(
                  done ->
                      shutdown.addListener(
                          ended -> {
                            if (ended.isSuccess()) {
                              done.success();
                            } else {
                              done.error(ended.cause());
                            }
                          }));
            })
        .timeout(
            bound,
            Mono.fromRunnable(
                () ->
                    log.warn(
                        "Event loops still running {} ms after their shutdown began; left to end"
                            + " with the JVM",
                        bound.toMillis())));
  }

  private static final class LoopThreads implements ThreadFactory {

    private final String prefix;
    private final AtomicInteger count = new AtomicInteger();

    LoopThreads(String transport) {
      this.prefix = "reactor-http-" + transport + "-";
    }

    @Override
    public Thread newThread(Runnable task) {
      Thread thread = new LoopThread(task, prefix + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    }
  }

  private static final class LoopThread extends FastThreadLocalThread implements NonBlocking {

    LoopThread(Runnable task, String name) {
      super(task, name);
    }
  }
}
