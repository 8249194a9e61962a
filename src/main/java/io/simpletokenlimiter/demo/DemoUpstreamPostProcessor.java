package io.simpletokenlimiter.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Arrays;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * With the profile {@code demo} asked for ({@code SPRING_PROFILES_ACTIVE=demo}, {@code
 * --spring.profiles.active=demo}), chooses a free port of 127.0.0.1 for the {@link DemoUpstream}
 * and points {@code token.limit.vllm-url} at it, above every other source. A {@code demo} profile
 * that is only a default profile ({@code spring.profiles.default}) stops the start: the demo
 * upstream must never be on by accident.
 */
public class DemoUpstreamPostProcessor implements EnvironmentPostProcessor, Ordered {

  public static final String PROFILE = "demo";
  static final String PROPERTY_SOURCE = "demoUpstream";

  @Override
  public void postProcessEnvironment(
      ConfigurableEnvironment environment, SpringApplication application) {
    boolean active = Arrays.asList(environment.getActiveProfiles()).contains(PROFILE);
    if (!active) {
      if (Arrays.asList(environment.getDefaultProfiles()).contains(PROFILE)) {
        throw new IllegalStateException(
            "The demo upstream answers every request with canned text: it starts only when the"
                + " profile 'demo' is asked for explicitly (SPRING_PROFILES_ACTIVE=demo), not as a"
                + " default profile (spring.profiles.default)");
      }
      return;
    }
    int port = freePort();
    environment.getPropertySources().remove(PROPERTY_SOURCE);
    environment
        .getPropertySources()
        .addFirst(
            new MapPropertySource(
                PROPERTY_SOURCE,
                Map.of(
                    "token.limit.demo.port",
                    port,
                    "token.limit.vllm-url",
                    "http://127.0.0.1:" + port)));
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port for the demo upstream", e);
    }
  }

  /** After the config files, which may name the active profiles. */
  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }
}
