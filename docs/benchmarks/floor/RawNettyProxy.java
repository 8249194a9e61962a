import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;

/**
 * A floor, not a product: the least a proxy on Netty's own pipeline does. The whole request in,
 * one call to the fake vLLM over a connection of its own (opened on the client connection's event
 * loop, kept for its life), the whole answer out. No error handling. Run with the jars of the
 * service's BOOT-INF/lib on the class path: {@code java -cp ... RawNettyProxy.java 18006}.
 */
public class RawNettyProxy {

  private static final int MAX_BODY = 1 << 20;

  public static void main(String[] args) throws Exception {
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, IoUringIoHandler.newFactory());
    new ServerBootstrap()
        .group(loops)
        .channel(IoUringServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel channel) {
                channel
                    .pipeline()
                    .addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_BODY), new Front());
              }
            })
        .bind(Integer.parseInt(args[0]))
        .sync()
        .channel()
        .closeFuture()
        .sync();
  }

  /** One client connection: its requests go to vLLM over one connection of its own. */
  static final class Front extends SimpleChannelInboundHandler<FullHttpRequest> {

    private ChannelFuture upstream;

    @Override
    protected void channelRead0(ChannelHandlerContext context, FullHttpRequest request) {
      FullHttpRequest forwarded =
          new DefaultFullHttpRequest(
              HttpVersion.HTTP_1_1,
              HttpMethod.POST,
              request.uri().replaceFirst("^/api/v1/", "/v1/"),
              request.content().retain());
      forwarded
          .headers()
          .set(HttpHeaderNames.HOST, "127.0.0.1:18000")
          .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
          .set(HttpHeaderNames.CONTENT_LENGTH, forwarded.content().readableBytes());
      if (upstream == null) {
        upstream = connect(context.channel());
      }
      upstream.addListener(connected -> upstream.channel().writeAndFlush(forwarded));
    }

    @Override
    public void channelInactive(ChannelHandlerContext context) {
      if (upstream != null) {
        upstream.channel().close();
      }
    }

    private static ChannelFuture connect(Channel client) {
      return new Bootstrap()
          .group(client.eventLoop())
          .channel(IoUringSocketChannel.class)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(
              new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel channel) {
                  channel
                      .pipeline()
                      .addLast(
                          new HttpClientCodec(),
                          new HttpObjectAggregator(MAX_BODY),
                          new Back(client));
                }
              })
          .connect("127.0.0.1", 18000);
    }
  }

  /** vLLM's answer, sent on to the client. */
  static final class Back extends SimpleChannelInboundHandler<FullHttpResponse> {

    private final Channel client;

    Back(Channel client) {
      this.client = client;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext context, FullHttpResponse answer) {
      FullHttpResponse back =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, answer.status(), answer.content().retain());
      back.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
          .set(HttpHeaderNames.CONTENT_LENGTH, back.content().readableBytes());
      client.writeAndFlush(back);
    }
  }
}
