package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ExchangeScopeTest {

  private final EventLoop loop = new DefaultEventLoop();

  @AfterEach
  void stopLoop() {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void aReplyFromAnotherThreadGoesOnOnTheExchangesEventLoop() throws Exception {
    ExchangeScope scope = new ExchangeScope(loop);
    CompletableFuture<Boolean> onLoop = new CompletableFuture<>();

    // As a Redis reply would, on a thread that is not the exchange's.
    Thread lettuce = new Thread(() -> scope.resume(() -> onLoop.complete(loop.inEventLoop())));
    lettuce.start();

    assertThat(onLoop.get(5, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aReplyOnTheEventLoopAlreadyGoesOnAtOnce() throws Exception {
    ExchangeScope scope = new ExchangeScope(loop);
    CompletableFuture<String> order = new CompletableFuture<>();

    loop.execute(
        () -> {
          AtomicReference<String> ran = new AtomicReference<>("later");
          scope.resume(() -> ran.set("at once"));
          order.complete(ran.get());
        });

    assertThat(order.get(5, TimeUnit.SECONDS)).isEqualTo("at once");
  }

  @Test
  void aReplyAfterTheEventLoopStoppedStillGoesOn() {
    ExchangeScope scope = new ExchangeScope(loop);
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    AtomicReference<String> ran = new AtomicReference<>("never");

    scope.resume(() -> ran.set("on the caller's thread"));

    assertThat(ran.get()).isEqualTo("on the caller's thread");
  }
}
