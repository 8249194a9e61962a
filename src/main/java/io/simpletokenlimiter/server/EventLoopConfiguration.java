package io.simpletokenlimiter.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.uring.IoUringIoHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.netty.resources.LoopResources;

/**
 * The transport of the event loops that the server, the vLLM client and the loops' Redis
 * connections share: Reactor Netty's choice (io_uring where the kernel offers it, else epoll), or
 * with {@code token.limit.server.io-uring=false} epoll. Reactor Netty takes io_uring wherever it is
 * available and has no switch of its own, so the epoll loops are made here.
 */
@Configuration(proxyBeanMethods = false)
public class EventLoopConfiguration {

  private static final Logger log = LoggerFactory.getLogger(EventLoopConfiguration.class);

  /**
   * Epoll loops that Spring starts with the context and shuts down with it; where there is no epoll
   * (not Linux), Reactor Netty's own loops.
   */
  @Bean
  @ConditionalOnProperty(name = "token.limit.server.io-uring", havingValue = "false")
  ReactorResourceFactory epollLoops() {
    ReactorResourceFactory resources = new ReactorResourceFactory();
    if (Epoll.isAvailable()) {
      resources.setUseGlobalResources(false);
      resources.setLoopResourcesSupplier(() -> new EpollLoops(EventLoopThreads.count()));
    }
    return resources;
  }

  /** Says at start-up which transport the loops run on: it decides the throughput. */
  @Bean
  ApplicationListener<ApplicationReadyEvent> loopTransportLog(
      ObjectProvider<ReactorResourceFactory> resources) {
    return ready ->
        resources.ifAvailable(
            loops -> {
              EventLoopGroup group =
                  loops.getLoopResources().onServer(LoopResources.DEFAULT_NATIVE);
              log.info("Event loops: {} on {}", EventLoopThreads.count(), transportOf(group));
            });
  }

  private static String transportOf(EventLoopGroup group) {
    if (group instanceof IoEventLoopGroup loops) {
      if (loops.isIoType(IoUringIoHandler.class)) {
        return "io_uring";
      }
      if (loops.isIoType(EpollIoHandler.class)) {
        return "epoll";
      }
    }
    return group.getClass().getSimpleName();
  }
}
