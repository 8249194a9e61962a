package io.simpletokenlimiter.server;

import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * How long a client connection may hold the server without asking anything, and the transport its
 * event loops run on, under {@code token.limit.server}.
 *
 * @param headerTimeout the time a client has to finish a request's line and headers, counted from
 *     the connection's opening or the first byte of a next request on it; then 408 and close
 * @param idleTimeout the time a keep-alive connection may wait for its next request; then close. A
 *     response in progress (a long stream) is never idle
 * @param ioUring whether the event loops run on Netty's io_uring transport where the kernel offers
 *     it (Reactor Netty's choice, the default), or on epoll
 */
@ConfigurationProperties("token.limit.server")
@Validated
public record ConnectionProperties(
    @DefaultValue("10s") @NotNull Duration headerTimeout,
    @DefaultValue("60s") @NotNull Duration idleTimeout,
    @DefaultValue("true") boolean ioUring) {

  public ConnectionProperties {
    requirePositive("header-timeout", headerTimeout);
    requirePositive("idle-timeout", idleTimeout);
  }

  private static void requirePositive(String name, Duration value) {
    if (value != null && (value.isNegative() || value.isZero())) {
      throw new IllegalArgumentException(
          "token.limit.server." + name + " must be positive, was " + value);
    }
  }
}
