package io.simpletokenlimiter.server;

import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * How long a client connection may hold the server without asking anything, and the transport its
 * event loops run on and how they wait for it, under {@code token.limit.server}.
 *
 * @param headerTimeout the time a client has to finish a request's line and headers, counted from
 *     the connection's opening or the first byte of a next request on it; then 408 and close
 * @param idleTimeout the time a keep-alive connection may wait for its next request; then close. A
 *     response in progress (a long stream) is never idle
 * @param ioUring whether the event loops run on Netty's io_uring transport where the kernel offers
 *     it (the default), or on epoll
 * @param busyPoll how long an event loop keeps polling for I/O after its last, instead of sleeping
 *     (and being woken, which costs more than the poll on a virtual machine); zero: it sleeps at
 *     once
 */
@ConfigurationProperties("token.limit.server")
@Validated
public record ConnectionProperties(
    @DefaultValue("10s") @NotNull Duration headerTimeout,
    @DefaultValue("60s") @NotNull Duration idleTimeout,
    @DefaultValue("true") boolean ioUring,
    @DefaultValue("0s") @NotNull Duration busyPoll) {

  public ConnectionProperties {
    requirePositive("header-timeout", headerTimeout);
    requirePositive("idle-timeout", idleTimeout);
    if (busyPoll != null && busyPoll.isNegative()) {
      throw new IllegalArgumentException(
          "token.limit.server.busy-poll (SERVER_BUSY_POLL) must not be negative, was " + busyPoll);
    }
  }

  private static void requirePositive(String name, Duration value) {
    if (value != null && (value.isNegative() || value.isZero())) {
      throw new IllegalArgumentException(
          "token.limit.server." + name + " must be positive, was " + value);
    }
  }
}
