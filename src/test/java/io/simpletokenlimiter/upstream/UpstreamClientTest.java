package io.simpletokenlimiter.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.web.reactive.function.client.WebClientRequestException;
import reactor.netty.internal.shaded.reactor.pool.PoolAcquirePendingLimitException;
import reactor.netty.internal.shaded.reactor.pool.PoolAcquireTimeoutException;

class UpstreamClientTest {

  @Test
  void anExhaustedPoolIsRecognisedHoweverWebClientWrapsIt() {
    PoolAcquireTimeoutException timeout = new PoolAcquireTimeoutException(Duration.ofSeconds(2));

    assertThat(UpstreamClient.isPoolExhausted(wrapped(timeout))).isTrue();
    assertThat(UpstreamClient.isPoolExhausted(new PoolAcquirePendingLimitException(2000))).isTrue();
  }

  @Test
  void vllmFailuresAreNotAnExhaustedPool() {
    assertThat(UpstreamClient.isPoolExhausted(wrapped(new ConnectException("refused")))).isFalse();
    assertThat(UpstreamClient.isPoolExhausted(new TimeoutException("first byte"))).isFalse();
    assertThat(UpstreamClient.isPoolExhausted(new UpstreamUnavailableException("vLLM: 500")))
        .isFalse();
  }

  private static WebClientRequestException wrapped(Throwable cause) {
    return new WebClientRequestException(
        cause, HttpMethod.POST, URI.create("http://vllm/v1/chat/completions"), new HttpHeaders());
  }
}
