package io.simpletokenlimiter.server;

import io.netty.channel.epoll.Epoll;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ReactorResourceFactory;

/**
 * Client connections are bounded in time, not only by the file-descriptor limit: a deadline for
 * request headers (slowloris) and an idle timeout for keep-alive connections waiting for their next
 * request. Neither touches a request in progress: a long stream keeps its connection. Also the
 * transport the event loops run on, and a request asking to close its connection.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ConnectionProperties.class)
public class ServerConnectionConfiguration {

  @Bean
  NettyServerCustomizer connectionDeadlines(ConnectionProperties properties) {
    return server ->
        server.doOnChannelInit(
            (observer, channel, remoteAddress) ->
                ConnectionDeadlines.install(
                    channel, properties.headerTimeout(), properties.idleTimeout()));
  }

  /**
   * The event loops on epoll when {@code token.limit.server.io-uring} is false (and epoll is
   * there): what the server, the vLLM client and the Redis connections of the loops all run on.
   */
  @Bean
  @ConditionalOnProperty(name = "token.limit.server.io-uring", havingValue = "false")
  ReactorResourceFactory epollLoops() {
    ReactorResourceFactory resources = new ReactorResourceFactory();
    if (Epoll.isAvailable()) {
      resources.setUseGlobalResources(false);
      resources.setLoopResources(new EpollLoops(EventLoopThreads.count()));
    }
    return resources;
  }

  @Bean
  NettyServerCustomizer connectionCloseRequests() {
    return server ->
        server.doOnChannelInit(
            (observer, channel, remoteAddress) -> ConnectionCloseRequests.install(channel));
  }
}
