package io.simpletokenlimiter.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
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
 * The two deadlines of a client connection. One for a request's line and headers (slowloris): armed
 * when the connection opens and when the first byte of a next request arrives, disarmed when the
 * HTTP codec has decoded the headers; when it passes, the client gets 408 and the connection is
 * closed. A request whose headers are complete is never subject to it, so neither a slow body
 * (bounded by the body size) nor a long streamed answer is cut. The other for a keep-alive
 * connection waiting for its next request: armed when an answer's last byte goes out, disarmed by
 * the next request's first byte; when it passes, the connection is closed.
 *
 * <p>Two handlers share the state, one on each side of the codec: the one before it sees the raw
 * bytes, the one after it sees where requests and answers begin and end. They stay for the
 * connection's life: Reactor Netty's own idle timeout added a handler after every answer and
 * removed it at the next request, about 1 % of a request's CPU. All of it runs on the connection's
 * event loop.
 */
final class ConnectionDeadlines {

  private static final Logger log = LoggerFactory.getLogger(ConnectionDeadlines.class);

  private static final String TIMEOUT_BODY =
      "{\"error\":\"request_timeout\",\"message\":\"The request headers took too long\"}";

  private static final byte[] REQUEST_TIMEOUT =
      ("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
              + "Content-Length: "
              + TIMEOUT_BODY.length()
              + "\r\n\r\n"
              + TIMEOUT_BODY)
          .getBytes(StandardCharsets.US_ASCII);

  private final long headerNanos;
  private final long idleNanos;
  private ChannelHandlerContext rawSide;
  private ScheduledFuture<?> timer;
  private boolean idle;
  private boolean inRequest;
  private int unanswered;

  private ConnectionDeadlines(Duration headerTimeout, Duration idleTimeout) {
    this.headerNanos = headerTimeout.toNanos();
    this.idleNanos = idleTimeout.toNanos();
  }

  /** Adds the deadlines to an HTTP/1.1 connection; a pipeline without the codec is left alone. */
  static void install(Channel channel, Duration headerTimeout, Duration idleTimeout) {
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get(NettyPipeline.HttpCodec) == null) {
      return;
    }
    ConnectionDeadlines deadline = new ConnectionDeadlines(headerTimeout, idleTimeout);
    pipeline.addBefore(NettyPipeline.HttpCodec, "tokenLimit.deadlines.bytes", deadline.bytes());
    pipeline.addAfter(
        NettyPipeline.HttpCodec, "tokenLimit.deadlines.requests", deadline.requests());
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
          if (idle) {
            disarm();
          }
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

  private ChannelDuplexHandler requests() {
    return new ChannelDuplexHandler() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
          disarm();
          inRequest = true;
          unanswered++;
        }
        if (msg instanceof LastHttpContent) {
          inRequest = false;
          // an answer may go out before the request's end is read (one that needs no body)
          waitForNextRequest();
        }
        super.channelRead(ctx, msg);
      }

      @Override
      public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
          throws Exception {
        if (msg instanceof LastHttpContent) {
          unanswered = Math.max(0, unanswered - 1);
          waitForNextRequest();
        }
        super.write(ctx, msg, promise);
      }
    };
  }

  private void arm() {
    if (timer == null && rawSide != null) {
      timer = rawSide.executor().schedule(this::expire, headerNanos, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * Once every request read has been answered and the last one has been read whole, and unless a
   * next request has begun, the connection waits for one. (A client may send its next request
   * before the answer to the previous one: it is read, and waits, before that answer ends.)
   */
  private void waitForNextRequest() {
    if (timer == null && unanswered == 0 && !inRequest && rawSide != null) {
      timer = rawSide.executor().schedule(this::expire, idleNanos, TimeUnit.NANOSECONDS);
      idle = true;
    }
  }

  private void disarm() {
    idle = false;
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
    if (idle) {
      idle = false;
      log.debug("Closing {}: no next request within the idle timeout", channel.remoteAddress());
      channel.close();
      return;
    }
    log.debug("Closing {}: request headers not complete in time", channel.remoteAddress());
    // Written below the codec: raw bytes, whatever state the codec is in.
    rawSide
        .writeAndFlush(Unpooled.wrappedBuffer(REQUEST_TIMEOUT))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
