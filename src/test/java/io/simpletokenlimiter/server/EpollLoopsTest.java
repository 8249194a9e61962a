package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * With {@code token.limit.server.io-uring=false} the loops run on epoll, also where io_uring is.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"token.limit.server.io-uring=false", "token.limit.server.busy-poll=100us"})
class EpollLoopsTest extends LoopTransportCheck {

  @Test
  void askedForEpollTheLoopsRunOnIt() throws Exception {
    assumeTrue(Epoll.isAvailable(), "epoll is not offered here");
    assertServedOn("epoll");
  }

  @Test
  void theLoopsStopWhenDisposed() {
    assumeTrue(Epoll.isAvailable(), "epoll is not offered here");
    NativeLoops loops = new NativeLoops("epoll", 1, EpollIoHandler.newFactory());
    assertThat(loops.onServer(true).submit(() -> "ran")).succeedsWithin(Duration.ofSeconds(5));

    loops.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block(Duration.ofSeconds(10));

    assertThat(loops.isDisposed()).isTrue();
  }

  @Test
  void idleLoopsSleep() throws Exception {
    assumeTrue(Epoll.isAvailable(), "epoll is not offered here");
    assertLoopsSleepWhenIdle();
  }

  @Test
  void aLoopThatWillNotStopDoesNotHoldUpTheShutdownPastItsTimeout() throws Exception {
    assumeTrue(Epoll.isAvailable(), "epoll is not offered here");
    NativeLoops loops =
        new NativeLoops("epoll", 1, EpollIoHandler.newFactory(), Duration.ofMillis(200));
    CountDownLatch release = new CountDownLatch(1);
    loops.onServer(true).execute(() -> awaitQuietly(release));
    try {
      assertThat(
              loops
                  .disposeLater(Duration.ZERO, Duration.ofMillis(100))
                  .toFuture()
                  .get(10, TimeUnit.SECONDS))
          .isNull();
      assertThat(loops.onServer(true).isTerminated()).isFalse();
    } finally {
      release.countDown();
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
