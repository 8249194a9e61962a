package io.simpletokenlimiter.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Limits;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

/** Start-up validation of {@code token.limit.*}: a bad value stops the service, naming it. */
class TokenLimitPropertiesTest {

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner().withUserConfiguration(Bind.class);

  @Test
  void limitsUpToTenToThe15AndUnlimitedStart() {
    runner
        .withPropertyValues(
            "token.limit.max-tokens-per-minute=1000000000000000",
            "token.limit.max-tokens-per-hour=-1")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(TokenLimitProperties.class).defaultLimits())
                  .isEqualTo(new Limits(1_000_000_000_000_000L, Limits.UNLIMITED, 100_000, 5));
            });
  }

  @Test
  void aTokenLimitAboveTenToThe15StopsStartUpNamingTheProperty() {
    runner
        .withPropertyValues("token.limit.max-tokens-per-minute=1000000000000001")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessage(
                        "token.limit.max-tokens-per-minute (MAX_TOKENS_MINUTE) must be at most 1000000000000000,"
                            + " or -1 for unlimited, was 1000000000000001"));
    runner
        .withPropertyValues("token.limit.max-tokens-per-day=9223372036854775807")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageStartingWith(
                        "token.limit.max-tokens-per-day (MAX_TOKENS_DAY) must be at most 1000000000000000"));
  }

  @Test
  void aZeroLimitStopsStartUpNamingTheProperty() {
    runner
        .withPropertyValues("token.limit.max-tokens-per-hour=0")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessage(
                        "token.limit.max-tokens-per-hour (MAX_TOKENS_HOUR) must be at least 1,"
                            + " or -1 for unlimited, was 0"));
  }

  @Test
  void theUpstreamPoolSizeIsASettingOfAtLeastOne() {
    runner.run(
        context ->
            assertThat(context.getBean(TokenLimitProperties.class).upstream().maxConnections())
                .isEqualTo(1000));
    runner
        .withPropertyValues("token.limit.upstream.max-connections=64")
        .run(
            context ->
                assertThat(context.getBean(TokenLimitProperties.class).upstream().maxConnections())
                    .isEqualTo(64));
    runner
        .withPropertyValues("token.limit.upstream.max-connections=0")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("upstream.maxConnections"));
  }

  @Configuration(proxyBeanMethods = false)
  @EnableConfigurationProperties(TokenLimitProperties.class)
  static class Bind {}
}
