package io.simpletokenlimiter.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.simpletokenlimiter.TokenLimiterApplication;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.core.env.StandardEnvironment;

/** Nothing turns the demo upstream on but the profile {@code demo} asked for by name. */
class DemoUpstreamGuardTest {

  @Test
  void withoutTheProfileNothingChanges() {
    StandardEnvironment environment = new StandardEnvironment();

    new DemoUpstreamPostProcessor().postProcessEnvironment(environment, new SpringApplication());

    assertThat(environment.getPropertySources().contains("demoUpstream")).isFalse();
    assertThat(environment.getProperty("token.limit.vllm-url")).isNull();
  }

  @Test
  void theActiveProfilePointsTheLimiterAtALoopbackPort() {
    StandardEnvironment environment = new StandardEnvironment();
    environment.setActiveProfiles("demo");

    new DemoUpstreamPostProcessor().postProcessEnvironment(environment, new SpringApplication());

    int port = environment.getProperty("token.limit.demo.port", Integer.class);
    assertThat(environment.getProperty("token.limit.vllm-url"))
        .isEqualTo("http://127.0.0.1:" + port);
  }

  @Test
  void aDefaultDemoProfileStopsTheStart() {
    SpringApplicationBuilder application =
        new SpringApplicationBuilder(TokenLimiterApplication.class)
            .web(WebApplicationType.REACTIVE)
            .logStartupInfo(false);

    assertThatThrownBy(() -> application.run("--spring.profiles.default=demo", "--server.port=0"))
        .hasMessageContaining("asked for explicitly");
  }

  @Test
  void noPackagedConfigurationActivatesTheProfile() throws java.io.IOException {
    assertThat(DemoUpstreamGuardTest.class.getResource("/application.yml")).isNotNull();
    assertThat(
            new org.springframework.core.io.ClassPathResource("application.yml")
                .getContentAsString(java.nio.charset.StandardCharsets.UTF_8))
        .doesNotContain("profiles");
  }
}
