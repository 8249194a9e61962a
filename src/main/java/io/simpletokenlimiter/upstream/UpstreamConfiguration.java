package io.simpletokenlimiter.upstream;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelOption;
import io.netty.util.concurrent.EventExecutor;
import io.simpletokenlimiter.config.TokenLimitProperties;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

/** The HTTP clients and circuit breaker used to reach vLLM. */
@Configuration(proxyBeanMethods = false)
public class UpstreamConfiguration {

  public static final String CIRCUIT_BREAKER = "upstreamCircuitBreaker";

  /**
   * vLLM (uvicorn) closes idle keep-alive connections after 5 s; reusing one it just closed fails
   * the request, so ours are dropped first.
   */
  private static final Duration MAX_IDLE = Duration.ofSeconds(4);

  /**
   * The pooled clients every call to vLLM goes through, one per HTTP event loop (see {@link
   * UpstreamClients}), with vLLM's address as their base.
   */
  @Bean
  UpstreamClients upstreamClients(
      TokenLimitProperties properties, ObjectProvider<ReactorResourceFactory> reactorResources) {
    TokenLimitProperties.Upstream upstream = properties.upstream();
    BiFunction<String, Integer, ConnectionProvider> pool =
        (suffix, maxConnections) ->
            ConnectionProvider.builder("vllm" + suffix)
                .maxConnections(maxConnections)
                // beyond these, a request is refused at once (503) rather than queued
                .pendingAcquireMaxCount(2 * maxConnections)
                .pendingAcquireTimeout(upstream.connectTimeout())
                .maxIdleTime(MAX_IDLE)
                .evictInBackground(MAX_IDLE)
                .build();
    Function<ConnectionProvider, HttpClient> client =
        connections ->
            HttpClient.create(connections)
                .baseUrl(properties.vllmUrl().toString().replaceAll("/+$", ""))
                .doOnChannelInit(
                    (observer, channel, address) ->
                        UpstreamReadDeadline.install(
                            channel, upstream.firstByteTimeout(), upstream.idleTimeout()))
                .option(
                    ChannelOption.CONNECT_TIMEOUT_MILLIS,
                    Math.toIntExact(upstream.connectTimeout().toMillis()));
    Iterable<EventExecutor> loops =
        Optional.ofNullable(reactorResources.getIfAvailable())
            .<Iterable<EventExecutor>>map(
                resources -> resources.getLoopResources().onServer(LoopResources.DEFAULT_NATIVE))
            .orElse(List.of());
    return UpstreamClients.perLoop(loops, upstream.maxConnections(), pool, client);
  }

  @Bean
  CircuitBreakerRegistry upstreamCircuitBreakerRegistry(
      TokenLimitProperties properties, MeterRegistry meterRegistry) {
    CircuitBreakerConfig config =
        properties
            .upstream()
            .breaker()
            .config()
            // The breaker half-opens on the next call after the wait, as vLLM is called often.
            .automaticTransitionFromOpenToHalfOpenEnabled(false)
            // Waiting for one of our own busy connections says nothing about vLLM's health.
            .ignoreException(UpstreamClient::isPoolExhausted)
            // nor does a request not sent because its client had left
            .ignoreExceptions(CallerLeftException.class)
            .build();
    CircuitBreakerRegistry registry = CircuitBreakerRegistry.of(config);
    TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(registry).bindTo(meterRegistry);
    return registry;
  }

  @Bean(CIRCUIT_BREAKER)
  CircuitBreaker upstreamCircuitBreaker(
      @Qualifier("upstreamCircuitBreakerRegistry") CircuitBreakerRegistry registry) {
    return registry.circuitBreaker("vllm");
  }
}
