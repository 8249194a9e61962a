package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class BusyPollingIoHandlerTest {

  private static final Duration WINDOW = Duration.ofNanos(100_000);

  private final AtomicLong clock = new AtomicLong(7_000_000_000L);
  private final Transport transport = new Transport();
  private final BusyPollingIoHandler handler =
      new BusyPollingIoHandler(transport, WINDOW, clock::get);
  private final Loop loop = new Loop();

  @Test
  void aLoopThatHasSeenNoIoSleepsAsItsLoopAllows() {
    handler.run(loop);

    assertThat(transport.mayBlock).containsExactly(true);
  }

  @Test
  void afterIoTheLoopPollsUntilTheWindowHasPassedSinceTheLastIo() {
    transport.nextHandled = 3;
    handler.run(loop);
    clock.addAndGet(99_999);
    handler.run(loop);
    clock.addAndGet(1);
    handler.run(loop);

    assertThat(transport.mayBlock).containsExactly(true, false, true);
  }

  @Test
  void ioWhilePollingStartsTheWindowAgain() {
    transport.nextHandled = 1;
    handler.run(loop);
    clock.addAndGet(90_000);
    transport.nextHandled = 1;
    handler.run(loop);
    clock.addAndGet(90_000);
    handler.run(loop);
    clock.addAndGet(10_000);
    handler.run(loop);

    assertThat(transport.mayBlock).containsExactly(true, false, false, true);
  }

  @Test
  void aStoppingLoopWaitsAsTheTransportAloneWould() {
    transport.nextHandled = 1;
    handler.run(loop);
    handler.prepareToDestroy();
    handler.run(loop);

    assertThat(transport.mayBlock).containsExactly(true, true);
    assertThat(transport.destroying).isTrue();
  }

  @Test
  void aLoopThatMayNotSleepIsNeverToldItMay() {
    loop.canBlock = false;
    handler.run(loop);

    assertThat(transport.mayBlock).containsExactly(false);
  }

  @Test
  void whilePollingTheTransportSeesTheLoopsTimers() {
    transport.nextHandled = 1;
    handler.run(loop);
    handler.run(loop);

    assertThat(transport.mayBlock).containsExactly(true, false);
    assertThat(transport.deadlines).containsExactly(loop.deadlineNanos(), loop.deadlineNanos());
  }

  @Test
  void aZeroWindowLeavesTheTransportAsItIs() {
    IoHandlerFactory epoll = EpollIoHandler.newFactory();

    assertThat(BusyPollingIoHandler.around(epoll, Duration.ZERO)).isSameAs(epoll);
    assertThat(BusyPollingIoHandler.around(epoll, WINDOW)).isNotSameAs(epoll);
  }

  @Test
  void theTransportDecidesWhatItCanRegister() {
    assertThat(handler.isCompatible(EpollIoHandle.class)).isTrue();
    assertThat(handler.isCompatible(IoHandle.class)).isFalse();
  }

  /** A transport that handles what it is told to and remembers whether it was let sleep. */
  private static final class Transport implements IoHandler {

    final List<Boolean> mayBlock = new ArrayList<>();
    final List<Long> deadlines = new ArrayList<>();
    int nextHandled;
    boolean destroying;

    @Override
    public void prepareToDestroy() {
      destroying = true;
    }

    @Override
    public int run(IoHandlerContext context) {
      mayBlock.add(context.canBlock());
      deadlines.add(context.deadlineNanos());
      int handled = nextHandled;
      nextHandled = 0;
      return handled;
    }

    @Override
    public IoRegistration register(IoHandle handle) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void wakeup() {}

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
      return handleType == EpollIoHandle.class;
    }
  }

  private static final class Loop implements IoHandlerContext {

    boolean canBlock = true;

    @Override
    public boolean canBlock() {
      return canBlock;
    }

    @Override
    public long delayNanos(long currentTimeNanos) {
      return 5_000_000;
    }

    @Override
    public long deadlineNanos() {
      return 42_000_000L;
    }
  }
}
