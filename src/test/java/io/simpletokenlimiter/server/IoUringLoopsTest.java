package io.simpletokenlimiter.server;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * With {@code token.limit.server.io-uring} the loops run on io_uring where the kernel offers it.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = "token.limit.server.io-uring=true")
class IoUringLoopsTest extends LoopTransportCheck {

  @Test
  void askedForTheLoopsRunOnIoUring() throws Exception {
    assumeTrue(IoUring.isAvailable(), "io_uring is not offered here");
    assertServedOn(IoUringIoHandler.class);
  }
}
