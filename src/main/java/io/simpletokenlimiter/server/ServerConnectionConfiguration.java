package io.simpletokenlimiter.server;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Client connections are bounded in time, not only by the file-descriptor limit: a deadline for
 * request headers (slowloris) and an idle timeout for keep-alive connections waiting for their next
 * request. Neither touches a request in progress: a long stream keeps its connection. Also a
 * request asking to close its connection.
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

  @Bean
  NettyServerCustomizer connectionCloseRequests() {
    return server ->
        server.doOnChannelInit(
            (observer, channel, remoteAddress) -> ConnectionCloseRequests.install(channel));
  }
}
