package io.simpletokenlimiter.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandle;
import io.netty.channel.uring.IoUringIoHandler;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.netty.resources.LoopResources;

/**
 * The event loops that the server, the vLLM client and the loops' Redis connections share: on
 * io_uring where the kernel offers it, else (or with {@code token.limit.server.io-uring=false}) on
 * epoll, each loop busy-polling for {@code token.limit.server.busy-poll} after its I/O. Where
 * Linux's transports are missing (not Linux) or turned off ({@code -Dreactor.netty.native=false}),
 * Reactor Netty's own loops, without busy-polling.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ConnectionProperties.class)
public class EventLoopConfiguration {

  private static final Logger log = LoggerFactory.getLogger(EventLoopConfiguration.class);

  /** Loops that Spring starts with the context and shuts down with it. */
  @Bean
  ReactorResourceFactory eventLoops(ConnectionProperties server) {
    ReactorResourceFactory resources = new ReactorResourceFactory();
    if (!LoopResources.DEFAULT_NATIVE) {
      return resources; // -Dreactor.netty.native=false: the operator asked for Java's NIO
    }
    if (server.ioUring() && IoUring.isAvailable()) {
      use(resources, "io_uring", IoUringIoHandler.newFactory(), server.busyPoll());
    } else if (Epoll.isAvailable()) {
      use(resources, "epoll", EpollIoHandler.newFactory(), server.busyPoll());
    }
    return resources;
  }

  private static void use(
      ReactorResourceFactory resources,
      String transport,
      IoHandlerFactory handlers,
      Duration busyPoll) {
    resources.setUseGlobalResources(false);
    resources.setLoopResourcesSupplier(
        () ->
            new NativeLoops(
                transport,
                EventLoopThreads.count(),
                BusyPollingIoHandler.around(handlers, busyPoll)));
  }

  /** Says at start-up which transport the loops run on: it decides the throughput. */
  @Bean
  ApplicationListener<ApplicationReadyEvent> loopTransportLog(
      ObjectProvider<ReactorResourceFactory> resources, ConnectionProperties server) {
    return ready ->
        resources.ifAvailable(
            loops -> {
              String transport =
                  transportOf(loops.getLoopResources().onServer(LoopResources.DEFAULT_NATIVE));
              boolean polls =
                  !server.busyPoll().isZero()
                      && (transport.equals("io_uring") || transport.equals("epoll"));
              log.info(
                  "Event loops: {} on {}, busy-polling {}",
                  EventLoopThreads.count(),
                  transport,
                  polls ? server.busyPoll().toNanos() / 1_000 + " µs after their I/O" : "off");
            });
  }

  static String transportOf(EventLoopGroup group) {
    if (group instanceof IoEventLoopGroup loops) {
      if (loops.isCompatible(IoUringIoHandle.class)) {
        return "io_uring";
      }
      if (loops.isCompatible(EpollIoHandle.class)) {
        return "epoll";
      }
    }
    return group.getClass().getSimpleName();
  }
}
