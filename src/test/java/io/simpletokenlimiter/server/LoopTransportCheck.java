package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandler;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.client.ReactorResourceFactory;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import reactor.netty.resources.LoopResources;

/** A running service whose event loops' transport a test checks, and serves a generation on. */
abstract class LoopTransportCheck {

  static final FakeVllm VLLM = FakeVllm.start();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
  }

  @Autowired ReactorResourceFactory resources;
  @LocalServerPort int port;

  /**
   * The loops run on {@code transport}, and a generation is answered through them (the server and
   * the vLLM client share the loops).
   */
  void assertServedOn(Class<? extends IoHandler> transport) throws Exception {
    IoEventLoopGroup loops =
        (IoEventLoopGroup) resources.getLoopResources().onServer(LoopResources.DEFAULT_NATIVE);
    assertThat(loops.isIoType(transport)).as("loops on %s", transport.getSimpleName()).isTrue();
    try (RawConnection connection = RawConnection.open(port)) {
      connection.send(RawConnection.chat("transport", false, "Connection: close\r\n"));
      assertThat(connection.readUntilClosed())
          .startsWith("HTTP/1.1 200")
          .contains("chat.completion");
    }
  }
}
