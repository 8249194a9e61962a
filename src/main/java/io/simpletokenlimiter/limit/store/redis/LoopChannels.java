package io.simpletokenlimiter.limit.store.redis;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.dns.DefaultDnsCache;
import io.netty.resolver.dns.DefaultDnsCnameCache;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import java.net.InetSocketAddress;
import reactor.netty.resources.LoopResources;

/**
 * The channels a Redis connection on an HTTP event loop opens, of the loop's own transport
 * (io_uring, epoll, kqueue or NIO), as Reactor Netty chooses them. Lettuce 6 picks epoll's where
 * the loops run on Netty 4.2's io_uring (it knows only the old incubator io_uring), and a loop
 * refuses a channel of another transport: its socket to Redis and the datagram socket its DNS
 * resolver asks with (a Redis host given by name, as in Compose and Kubernetes).
 */
final class LoopChannels {

  private LoopChannels() {}

  static <C extends Channel> Class<? extends C> of(EventLoop loop, Class<C> type) {
    LoopResources onlyThisLoop = useNative -> loop;
    return onlyThisLoop.onChannelClass(type, loop);
  }

  /** Lettuce's DNS resolver (its caches too), asking through channels of {@code loop}. */
  static AddressResolverGroup<InetSocketAddress> dnsResolver(
      EventLoop loop, DnsServerAddressStreamProvider servers) {
    return new DnsAddressResolverGroup(
        new DnsNameResolverBuilder()
            .datagramChannelType(of(loop, DatagramChannel.class))
            .socketChannelType(of(loop, SocketChannel.class))
            .nameServerProvider(servers)
            .cnameCache(new DefaultDnsCnameCache())
            .resolveCache(new DefaultDnsCache()));
  }
}
