package io.simpletokenlimiter.server;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * By default the loops run on io_uring where the kernel offers it; busy-polling (opt-in), they
 * still sleep when idle.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = "token.limit.server.busy-poll=100us")
class IoUringLoopsTest extends LoopTransportCheck {

  @Test
  void byDefaultTheLoopsRunOnIoUring() throws Exception {
    assumeTrue(IoUring.isAvailable(), "io_uring is not offered here");
    assertServedOn("io_uring");
  }

  @Test
  void idleLoopsSleep() throws Exception {
    assumeTrue(IoUring.isAvailable(), "io_uring is not offered here");
    assertLoopsSleepWhenIdle();
  }
}
