package io.simpletokenlimiter.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.NonBlocking;
import reactor.netty.resources.LoopResources;

/**
 * The HTTP event loops on epoll, for an operator who turns io_uring off: Reactor Netty takes
 * io_uring wherever the kernel offers it and has no switch of its own. One group serves the server
 * and the clients on its loops (vLLM's, Redis's), as Reactor Netty's own resources do; its threads
 * are Reactor's non-blocking ones, so that a blocking call on them fails as it does on the default
 * loops.
 */
final class EpollLoops implements LoopResources {

  private final EventLoopGroup group;

  EpollLoops(int threads) {
    this.group =
        new MultiThreadIoEventLoopGroup(threads, new LoopThreads(), EpollIoHandler.newFactory());
  }

  @Override
  public EventLoopGroup onServer(boolean useNative) {
    return group;
  }

  @Override
  public boolean isDisposed() {
    return group.isShutdown();
  }

  @Override
  public Mono<Void> disposeLater(Duration quietPeriod, Duration timeout) {
    return Mono.defer(
        () -> {
          Future<?> shutdown =
              group.shutdownGracefully(
                  quietPeriod.toMillis(), timeout.toMillis(), TimeUnit.MILLISECONDS);
          return Mono.create(
              done ->
                  shutdown.addListener(
                      ended -> {
                        if (ended.isSuccess()) {
                          done.success();
                        } else {
                          done.error(ended.cause());
                        }
                      }));
        });
  }

  private static final class LoopThreads implements ThreadFactory {

    private final AtomicInteger count = new AtomicInteger();

    @Override
    public Thread newThread(Runnable task) {
      Thread thread = new LoopThread(task, "reactor-http-epoll-" + count.incrementAndGet());
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
