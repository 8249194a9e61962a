package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

/** Binding and start-up validation of {@code token.limit.server.*}. */
class ConnectionPropertiesTest {

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner().withUserConfiguration(Bind.class);

  @Test
  void byDefaultTheLoopsRunOnIoUringAndDoNotBusyPoll() {
    runner.run(
        context -> {
          ConnectionProperties server = context.getBean(ConnectionProperties.class);
          assertThat(server.ioUring()).isTrue();
          assertThat(server.busyPoll()).isZero();
        });
  }

  @Test
  void busyPollingTakesADurationAndZeroTurnsItOff() {
    runner
        .withPropertyValues("token.limit.server.busy-poll=250us")
        .run(
            context ->
                assertThat(context.getBean(ConnectionProperties.class).busyPoll())
                    .isEqualTo(Duration.ofNanos(250_000)));
    runner
        .withPropertyValues("token.limit.server.busy-poll=0")
        .run(
            context -> assertThat(context.getBean(ConnectionProperties.class).busyPoll()).isZero());
  }

  @Test
  void aNegativeBusyPollStopsStartUpNamingIt() {
    runner
        .withPropertyValues("token.limit.server.busy-poll=-1ms")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessage(
                        "token.limit.server.busy-poll (SERVER_BUSY_POLL) must not be negative,"
                            + " was PT-0.001S"));
  }

  @Configuration(proxyBeanMethods = false)
  @EnableConfigurationProperties(ConnectionProperties.class)
  static class Bind {}
}
