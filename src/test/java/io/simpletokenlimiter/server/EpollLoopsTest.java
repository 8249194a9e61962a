package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.client.ReactorResourceFactory;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import reactor.netty.resources.LoopResources;

/**
 * By default the event loops run on epoll (where io_uring is there too), and a generation is
 * answered through them (the server and the vLLM client share the loops).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class EpollLoopsTest {

  static final FakeVllm VLLM = FakeVllm.start();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
  }

  @Autowired ReactorResourceFactory resources;
  @LocalServerPort int port;

  @Test
  void byDefaultTheLoopsRunOnEpoll() throws Exception {
    assumeTrue(Epoll.isAvailable(), "epoll is not offered here");
    IoEventLoopGroup loops =
        (IoEventLoopGroup) resources.getLoopResources().onServer(LoopResources.DEFAULT_NATIVE);
    assertThat(loops.isIoType(EpollIoHandler.class)).isTrue();
    try (RawConnection connection = RawConnection.open(port)) {
      connection.send(RawConnection.chat("epoll", false, "Connection: close\r\n"));
      assertThat(connection.readUntilClosed())
          .startsWith("HTTP/1.1 200")
          .contains("chat.completion");
    }
  }

  @Test
  void theLoopsStopWhenDisposed() {
    assumeTrue(Epoll.isAvailable(), "epoll is not offered here");
    EpollLoops loops = new EpollLoops(1);
    assertThat(loops.onServer(true).submit(() -> "ran")).succeedsWithin(Duration.ofSeconds(5));

    loops.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block(Duration.ofSeconds(10));

    assertThat(loops.isDisposed()).isTrue();
  }
}
