package io.simpletokenlimiter.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import reactor.netty.NettyPipeline;

/**
 * Answers an HTTP/1.1 request that asks to close its connection ({@code Connection: close}) and
 * then closes it, in place of Reactor Netty.
 *
 * <p>Reactor Netty 1.3.8 holds a request that arrives before the previous answer's last write has
 * completed, and takes it up once that answer is done, but only on a connection it still keeps
 * alive: a held request that asks to close is never answered. On epoll a write mostly completes at
 * once; on io_uring it completes a turn later, so a pipelined or quick last request with {@code
 * Connection: close} would wait forever. Reactor Netty is therefore shown every such request as a
 * keep-alive one; this handler puts {@code Connection: close} on its answer, closes the connection
 * once the answer is written, and drops anything the client sent after it (RFC 9112 §9.6: a server
 * reads no further requests on the connection).
 */
final class ConnectionCloseRequests extends ChannelDuplexHandler {

  private int requests;
  private int answers;
  private int closingRequest;
  private boolean closingRequestRead;

  /** Adds the handler to an HTTP/1.1 connection; a pipeline without the codec is left alone. */
  static void install(Channel channel) {
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get(NettyPipeline.HttpCodec) != null) {
      pipeline.addAfter(
          NettyPipeline.HttpCodec, "tokenLimit.connectionClose", new ConnectionCloseRequests());
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (closingRequestRead) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpRequest request) {
      requests++;
      if (request.protocolVersion().equals(HttpVersion.HTTP_1_1)
          && !HttpUtil.isKeepAlive(request)) {
        closingRequest = requests;
        HttpUtil.setKeepAlive(request, true);
      }
    }
    if (closingRequest != 0 && msg instanceof LastHttpContent) {
      closingRequestRead = true;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (isInformational(msg)) {
      ctx.write(msg, promise);
      return;
    }
    boolean closingAnswer = closingRequest != 0 && answers + 1 == closingRequest;
    if (closingAnswer && msg instanceof HttpResponse response) {
      HttpUtil.setKeepAlive(response, false);
    }
    if (msg instanceof LastHttpContent) {
      answers++;
      if (closingAnswer) {
        ctx.write(msg, promise.unvoid()).addListener(ChannelFutureListener.CLOSE);
        return;
      }
    }
    ctx.write(msg, promise);
  }

  private static boolean isInformational(Object msg) {
    return msg instanceof HttpResponse response
        && response.status().codeClass() == HttpStatusClass.INFORMATIONAL;
  }
}
