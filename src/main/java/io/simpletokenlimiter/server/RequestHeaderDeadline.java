package io.simpletokenlimiter.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.netty.NettyPipeline;

/**
 * A deadline for a request's line and headers (slowloris): armed when the connection opens and when
 * the first byte of a next request arrives, disarmed when the HTTP codec has decoded the headers.
 * When it passes, the client gets 408 and the connection is closed. A request whose headers are
 * complete is never subject to it, so neither a slow body (bounded by the body size) nor a long
 * streamed answer is cut.
 *
 * <p>Two handlers share the state, one on each side of the codec: the one before it sees the raw
 * bytes, the one after it sees where requests begin and end. All of it runs on the connection's
 * event loop.
 */
final class RequestHeaderDeadline {

  private static final Logger log = LoggerFactory.getLogger(RequestHeaderDeadline.class);

  private static final String TIMEOUT_BODY =
      "{\"error\":\"request_timeout\",\"message\":\"The request headers took too long\"}";

  private static final byte[] REQUEST_TIMEOUT =
      ("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
              + "Content-Length: "
              + TIMEOUT_BODY.length()
              + "\r\n\r\n"
              + TIMEOUT_BODY)
          .getBytes(StandardCharsets.US_ASCII);

  private final long timeoutNanos;
  private ChannelHandlerContext rawSide;
  private ScheduledFuture<?> timer;
  private boolean inRequest;

  private RequestHeaderDeadline(Duration timeout) {
    this.timeoutNanos = timeout.toNanos();
  }

  /** Adds the deadline to an HTTP/1.1 connection; a pipeline without the codec is left alone. */
  static void install(Channel channel, Duration timeout) {
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get(NettyPipeline.HttpCodec) == null) {
      return;
    }
    RequestHeaderDeadline deadline = new RequestHeaderDeadline(timeout);
    pipeline.addBefore(
        NettyPipeline.HttpCodec, "tokenLimit.headerDeadline.bytes", deadline.bytes());
    pipeline.addAfter(
        NettyPipeline.HttpCodec, "tokenLimit.headerDeadline.requests", deadline.requests());
  }

  private ChannelInboundHandlerAdapter bytes() {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void handlerAdded(ChannelHandlerContext ctx) {
        rawSide = ctx;
        if (ctx.channel().isActive()) {
          arm();
        }
      }

      @Override
      public void channelActive(ChannelHandlerContext ctx) throws Exception {
        arm();
        super.channelActive(ctx);
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (!inRequest && msg instanceof ByteBuf buffer && buffer.isReadable()) {
          arm();
        }
        super.channelRead(ctx, msg);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        disarm();
        super.channelInactive(ctx);
      }
    };
  }

  private ChannelInboundHandlerAdapter requests() {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
          disarm();
          inRequest = true;
        }
        if (msg instanceof LastHttpContent) {
          inRequest = false;
        }
        super.channelRead(ctx, msg);
      }
    };
  }

  private void arm() {
    if (timer == null && rawSide != null) {
      timer = rawSide.executor().schedule(this::expire, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void disarm() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void expire() {
    timer = null;
    Channel channel = rawSide.channel();
    if (!channel.isActive()) {
      return;
    }
    log.debug("Closing {}: request headers not complete in time", channel.remoteAddress());
    // Written below the codec: raw bytes, whatever state the codec is in.
    rawSide
        .writeAndFlush(Unpooled.wrappedBuffer(REQUEST_TIMEOUT))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
