package io.simpletokenlimiter.upstream;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.simpletokenlimiter.config.TokenLimitProperties;
import java.time.Duration;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * Whether vLLM answers its {@code /health} with 200. One probe serves every caller for {@code
 * upstream.health-cache-ttl}, and callers arriving while a probe runs share it, so load balancers
 * and dashboards polling us never multiply into load on vLLM.
 */
@Component
public class ModelServerHealth {

  private final Mono<Boolean> cachedProbe;

  public ModelServerHealth(UpstreamClients clients, TokenLimitProperties.Upstream upstream) {
    Duration ttl = upstream.healthCacheTtl();
    Duration probeTimeout = upstream.connectTimeout();
    Mono<Boolean> probe =
        Mono.defer(
                () ->
                    clients
                        .current()
                        .get()
                        .uri("/health")
                        // reads and drops the body: the connection goes back to the pool
                        .response())
            .map(response -> HttpResponseStatus.OK.equals(response.status()))
            .timeout(probeTimeout)
            .onErrorReturn(false);
    this.cachedProbe = probe.cache(healthy -> ttl, error -> ttl, () -> ttl);
  }

  public Mono<Boolean> healthy() {
    return cachedProbe;
  }
}
