package io.simpletokenlimiter.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.TokenLimiterApplication;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/** When the service stops, its connections to vLLM are closed with it. */
@Timeout(60)
class UpstreamShutdownTest {

  private static final FakeVllm VLLM = FakeVllm.start();
  private static final Duration WAIT = Duration.ofSeconds(10);

  @AfterAll
  static void stopVllm() {
    VLLM.close();
  }

  @Test
  void stoppingTheServiceClosesItsVllmPools() {
    ConfigurableApplicationContext context =
        new SpringApplicationBuilder(TokenLimiterApplication.class)
            .web(WebApplicationType.REACTIVE)
            .logStartupInfo(false)
            .run("--server.port=0", "--token.limit.vllm-url=" + VLLM.baseUrl());
    ConnectionProvider pool =
        context.getBean(UpstreamClients.class).current().configuration().connectionProvider();
    HttpClient client = HttpClient.create(pool).baseUrl(VLLM.baseUrl());
    assertThat(client.get().uri("/health").response().block(WAIT).status().code()).isEqualTo(200);

    context.close();

    assertThat(pool.isDisposed()).isTrue();
  }
}
