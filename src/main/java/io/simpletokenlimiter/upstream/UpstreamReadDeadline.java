package io.simpletokenlimiter.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.ReadTimeoutException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import reactor.netty.NettyPipeline;

/**
 * The deadlines of a call to vLLM, kept on its pooled connection for the connection's whole life:
 * once a call has sent its request ({@link #arm}), each read must come within the first-byte
 * timeout until the answer's status line is in, then within the idle timeout until the answer's
 * last byte. When one passes, the call fails with a {@link ReadTimeoutException} and the connection
 * is closed. Calls that do not arm it (the model list, the health probe) are not timed by it.
 *
 * <p>One handler per connection rather than handlers added and removed per call (Reactor Netty's
 * response timeout, swapped for a read timeout at the status line): those changed the pipeline four
 * times a call, about 1.5 % of a request's CPU. An answer whose body nobody reads still ends: its
 * connection is closed at the idle timeout. Two handlers share the state, one on each side of the
 * HTTP codec: the one before it sees every read, the one after it where answers begin and end. All
 * of it runs on the connection's event loop.
 */
final class UpstreamReadDeadline {

  private static final String BYTES = "tokenLimit.upstreamDeadline.bytes";
  private static final String ANSWERS = "tokenLimit.upstreamDeadline.answers";

  private final long firstByteNanos;
  private final long idleNanos;
  private ChannelHandlerContext rawSide;
  private ScheduledFuture<?> timer;
  private boolean armed;
  private boolean answering;
  private long lastReadNanos;

  private UpstreamReadDeadline(Duration firstByte, Duration idle) {
    this.firstByteNanos = firstByte.toNanos();
    this.idleNanos = idle.toNanos();
  }

  /** Adds the deadline to an HTTP/1.1 client connection. */
  static void install(Channel channel, Duration firstByte, Duration idle) {
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get(NettyPipeline.HttpCodec) == null) {
      throw new IllegalStateException("no HTTP/1.1 codec to time vLLM's answers by: " + pipeline);
    }
    UpstreamReadDeadline deadline = new UpstreamReadDeadline(firstByte, idle);
    pipeline.addBefore(NettyPipeline.HttpCodec, BYTES, deadline.new Bytes());
    pipeline.addAfter(NettyPipeline.HttpCodec, ANSWERS, deadline.answers());
  }

  /** Starts timing the call whose request is going out on {@code channel}. */
  static void arm(Channel channel) {
    if (!(channel.pipeline().get(BYTES) instanceof Bytes bytes)) {
      throw new IllegalStateException("no deadline on the connection to vLLM: " + channel);
    }
    if (channel.eventLoop().inEventLoop()) {
      bytes.deadline().start();
    } else {
      channel.eventLoop().execute(bytes.deadline()::start);
    }
  }

  private ChannelInboundHandlerAdapter answers() {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (armed && msg instanceof HttpResponse) {
          answering = true;
        }
        if (msg instanceof LastHttpContent) {
          stop();
        }
        super.channelRead(ctx, msg);
      }
    };
  }

  private void start() {
    armed = true;
    answering = false;
    lastReadNanos = System.nanoTime();
    // The status line may come at once, and then the idle timeout counts from the last read.
    schedule(Math.min(firstByteNanos, idleNanos));
  }

  private void stop() {
    armed = false;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void schedule(long delayNanos) {
    if (timer != null) {
      timer.cancel(false);
    }
    timer = rawSide.executor().schedule(this::check, delayNanos, TimeUnit.NANOSECONDS);
  }

  /** As Netty's read timeout: reads since the timer was set push the deadline out instead. */
  private void check() {
    timer = null;
    if (!armed || !rawSide.channel().isActive()) {
      return;
    }
    long left = (answering ? idleNanos : firstByteNanos) - (System.nanoTime() - lastReadNanos);
    if (left > 0) {
      schedule(left);
      return;
    }
    armed = false;
    rawSide.fireExceptionCaught(ReadTimeoutException.INSTANCE);
    rawSide.close();
  }

  private final class Bytes extends ChannelInboundHandlerAdapter {

    UpstreamReadDeadline deadline() {
      return UpstreamReadDeadline.this;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      rawSide = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      lastReadNanos = System.nanoTime();
      super.channelRead(ctx, msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      stop();
      super.channelInactive(ctx);
    }
  }
}
