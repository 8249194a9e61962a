package io.simpletokenlimiter.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.simpletokenlimiter.TokenLimiterApplication;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.web.util.DisconnectedClientHelper;

/**
 * A request whose client has left by the time a connection to vLLM is ready is not sent: vLLM does
 * no work nobody would pay for, and the call counts neither against vLLM's health nor as a failure.
 */
@Timeout(60)
class CallerLeftTest {

  private static final FakeVllm VLLM = FakeVllm.start();
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final byte[] BODY =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
          .getBytes(StandardCharsets.UTF_8);

  private static ConfigurableApplicationContext context;

  @BeforeAll
  static void start() {
    context =
        new SpringApplicationBuilder(TokenLimiterApplication.class)
            .web(WebApplicationType.REACTIVE)
            .logStartupInfo(false)
            .run("--server.port=0", "--token.limit.vllm-url=" + VLLM.baseUrl());
  }

  @AfterAll
  static void stop() {
    context.close();
    VLLM.close();
  }

  @Test
  void aRequestWhoseClientLeftIsNotSent() {
    UpstreamClient upstream = context.getBean(UpstreamClient.class);
    CircuitBreaker breaker =
        context.getBean(UpstreamConfiguration.CIRCUIT_BREAKER, CircuitBreaker.class);
    int before = VLLM.generationRequests().size();

    assertThatThrownBy(
            () ->
                upstream
                    .post("/v1/chat/completions", BODY, MediaType.APPLICATION_JSON, () -> false)
                    .block(WAIT))
        .isInstanceOf(CallerLeftException.class)
        .satisfies(
            error ->
                assertThat(DisconnectedClientHelper.isClientDisconnectedException(error)).isTrue());

    assertThat(VLLM.generationRequests()).hasSize(before);
    assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void aRequestWhoseClientIsThereIsSent() {
    UpstreamClient upstream = context.getBean(UpstreamClient.class);
    int before = VLLM.generationRequests().size();

    UpstreamResponse response =
        upstream
            .post("/v1/chat/completions", BODY, MediaType.APPLICATION_JSON, () -> true)
            .block(WAIT);

    assertThat(response.status()).isEqualTo(200);
    assertThat(response.bodyBytes(1 << 20).block(WAIT)).isNotEmpty();
    assertThat(VLLM.generationRequests()).hasSize(before + 1);
  }
}
