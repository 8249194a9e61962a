package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.client.ReactorResourceFactory;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import reactor.netty.resources.LoopResources;

/**
 * With {@code token.limit.server.io-uring} the event loops run on io_uring where the kernel offers
 * it, and a generation is answered through them (the server and the vLLM client share the loops).
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = "token.limit.server.io-uring=true")
class IoUringLoopsTest {

  static final FakeVllm VLLM = FakeVllm.start();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
  }

  @Autowired ReactorResourceFactory resources;
  @LocalServerPort int port;

  @Test
  void theLoopsRunOnIoUringWhereTheKernelOffersIt() throws Exception {
    assumeTrue(IoUring.isAvailable(), "io_uring is not offered here");
    IoEventLoopGroup loops =
        (IoEventLoopGroup) resources.getLoopResources().onServer(LoopResources.DEFAULT_NATIVE);
    assertThat(loops.isIoType(IoUringIoHandler.class)).isTrue();
    try (RawConnection connection = RawConnection.open(port)) {
      connection.send(RawConnection.chat("uring", false, "Connection: close\r\n"));
      assertThat(connection.readUntilClosed())
          .startsWith("HTTP/1.1 200")
          .contains("chat.completion");
    }
  }
}
