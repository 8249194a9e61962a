package io.simpletokenlimiter.server;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.util.concurrent.ThreadAwareExecutor;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * A loop's transport that, for a short while after its last I/O, polls for more instead of
 * sleeping. A request's next event (vLLM's answer, Redis's reply, the client's next request) mostly
 * comes within tens of µs; a loop asleep then pays for being woken, which on a virtual machine is
 * the largest single cost of a request at one connection. Between polls the loop yields its core to
 * any other thread that is ready to run, so it takes only CPU that would otherwise idle. A loop
 * that has seen no I/O for the window sleeps as before: an idle service costs no CPU, a busy one at
 * most the window per quiet gap.
 */
final class BusyPollingIoHandler implements IoHandler {

  private final IoHandler transport;
  private final long windowNanos;
  private final LongSupplier clock;
  private final PollingContext polling = new PollingContext();
  private long lastIo;
  private boolean stopping;

  BusyPollingIoHandler(IoHandler transport, Duration window, LongSupplier clock) {
    this.transport = transport;
    this.windowNanos = window.toNanos();
    this.clock = clock;
    this.lastIo = clock.getAsLong() - windowNanos;
  }

  /** The transport's handlers, polling for {@code window} after their I/O; as they are if zero. */
  static IoHandlerFactory around(IoHandlerFactory transport, Duration window) {
    if (window.isZero()) {
      return transport;
    }
    return new IoHandlerFactory() {
      @Override
      public IoHandler newHandler(ThreadAwareExecutor executor) {
        return new BusyPollingIoHandler(transport.newHandler(executor), window, System::nanoTime);
      }

      @Override
      public boolean isChangingThreadSupported() {
        return transport.isChangingThreadSupported();
      }
    };
  }

  @Override
  public int run(IoHandlerContext context) {
    boolean poll = !stopping && clock.getAsLong() - lastIo < windowNanos;
    int handled;
    if (poll) {
      polling.loop = context;
      handled = transport.run(polling);
    } else {
      handled = transport.run(context);
    }
    if (handled > 0) {
      lastIo = clock.getAsLong();
    } else if (poll) {
      Thread.yield();
    }
    return handled;
  }

  @Override
  public void initialize() {
    transport.initialize();
  }

  /** The loop is stopping: from now on it waits as the transport alone would. */
  @Override
  public void prepareToDestroy() {
    stopping = true;
    transport.prepareToDestroy();
  }

  @Override
  public void destroy() {
    transport.destroy();
  }

  @Override
  public IoRegistration register(IoHandle handle) throws Exception {
    return transport.register(handle);
  }

  @Override
  public void wakeup() {
    transport.wakeup();
  }

  @Override
  public boolean isCompatible(Class<? extends IoHandle> handleType) {
    return transport.isCompatible(handleType);
  }

  /** The loop's context, except that the transport may not sleep: it only looks for ready I/O. */
  private static final class PollingContext implements IoHandlerContext {

    private IoHandlerContext loop;

    @Override
    public boolean canBlock() {
      return false;
    }

    @Override
    public long delayNanos(long currentTimeNanos) {
      return loop.delayNanos(currentTimeNanos);
    }

    @Override
    public long deadlineNanos() {
      return loop.deadlineNanos();
    }

    @Override
    public void reportActiveIoTime(long activeNanos) {
      loop.reportActiveIoTime(activeNanos);
    }

    @Override
    public boolean shouldReportActiveIoTime() {
      return loop.shouldReportActiveIoTime();
    }
  }
}
