package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Mono;

@Timeout(30)
class LoopTimersTest {

  private final MultiThreadIoEventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final EventLoop loop = group.next();

  @AfterEach
  void stop() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void aDeadlineArmedOnALoopFiresOnThatLoop() throws Exception {
    CompletableFuture<Thread> firedOn = new CompletableFuture<>();
    loop.execute(
        () ->
            Mono.never()
                .timeout(Duration.ofMillis(20), LoopTimers.INSTANCE)
                .subscribe(
                    value -> {},
                    error -> {
                      if (error instanceof TimeoutException) {
                        firedOn.complete(Thread.currentThread());
                      }
                    }));

    assertThat(firedOn.get(5, TimeUnit.SECONDS)).isSameAs(threadOf(loop));
  }

  @Test
  void aCancelledDeadlineNeverFires() throws Exception {
    AtomicBoolean fired = new AtomicBoolean();
    loop.submit(
            () ->
                LoopTimers.INSTANCE
                    .schedule(() -> fired.set(true), 50, TimeUnit.MILLISECONDS)
                    .dispose())
        .get();

    // The loop runs due timers in deadline order: once this later one has run, the cancelled
    // one would have fired, however late this thread is.
    loop.schedule(() -> {}, 100, TimeUnit.MILLISECONDS).get();
    assertThat(fired).isFalse();
  }

  @Test
  void offALoopTheDeadlineIsReactorsOwn() throws Exception {
    CompletableFuture<String> firedOn = new CompletableFuture<>();
    LoopTimers.INSTANCE.schedule(
        () -> firedOn.complete(Thread.currentThread().getName()), 10, TimeUnit.MILLISECONDS);

    assertThat(firedOn.get(5, TimeUnit.SECONDS)).startsWith("parallel-");
  }

  private static Thread threadOf(EventLoop loop) throws Exception {
    return loop.submit(Thread::currentThread).get();
  }
}
