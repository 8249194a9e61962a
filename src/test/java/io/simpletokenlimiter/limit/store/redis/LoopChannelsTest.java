package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import reactor.netty.resources.LoopResources;

/**
 * A Redis host given by name is resolved on an HTTP event loop, whatever its transport: here the
 * default loops (io_uring where the kernel offers it), asking a DNS server of the test's own.
 */
class LoopChannelsTest {

  static final LoopResources LOOPS = LoopResources.create("loop-channels-test", 1, true);
  static final EventLoopGroup DNS_LOOP =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  @AfterAll
  static void stop() {
    LOOPS.dispose();
    DNS_LOOP.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @Test
  void aNameIsResolvedThroughChannelsOfTheLoopsTransport() throws Exception {
    EventLoop loop = LOOPS.onServer(true).next();
    Channel dns = dnsServer("redis.test.", new byte[] {127, 0, 0, 7});
    try {
      AddressResolverGroup<InetSocketAddress> resolvers =
          LoopChannels.dnsResolver(
              loop,
              new SingletonDnsServerAddressStreamProvider((InetSocketAddress) dns.localAddress()));
      InetSocketAddress resolved =
          resolvers
              .getResolver(loop)
              .resolve(InetSocketAddress.createUnresolved("redis.test", 6379))
              .get(10, TimeUnit.SECONDS);

      assertThat(resolved.getAddress().getHostAddress()).isEqualTo("127.0.0.7");
      assertThat(resolved.getPort()).isEqualTo(6379);
      resolvers.close();
    } finally {
      dns.close().sync();
    }
  }

  /** A DNS server on UDP that knows one name's IPv4 address and no other record. */
  private static Channel dnsServer(String name, byte[] address) throws InterruptedException {
    return new Bootstrap()
        .group(DNS_LOOP)
        .channel(NioDatagramChannel.class)
        .handler(
            new ChannelInitializer<DatagramChannel>() {
              @Override
              protected void initChannel(DatagramChannel channel) {
                channel
                    .pipeline()
                    .addLast(
                        new DatagramDnsQueryDecoder(),
                        new DatagramDnsResponseEncoder(),
                        new SimpleChannelInboundHandler<DatagramDnsQuery>() {
                          @Override
                          protected void channelRead0(
                              ChannelHandlerContext ctx, DatagramDnsQuery query) {
                            DnsQuestion question = query.recordAt(DnsSection.QUESTION);
                            DatagramDnsResponse answer =
                                new DatagramDnsResponse(
                                    query.recipient(), query.sender(), query.id());
                            answer.addRecord(DnsSection.QUESTION, question);
                            if (question.type() == DnsRecordType.A
                                && question.name().equals(name)) {
                              answer.addRecord(
                                  DnsSection.ANSWER,
                                  new DefaultDnsRawRecord(
                                      name, DnsRecordType.A, 60, Unpooled.wrappedBuffer(address)));
                            }
                            ctx.writeAndFlush(answer);
                          }
                        });
              }
            })
        .bind("127.0.0.1", 0)
        .sync()
        .channel();
  }
}
