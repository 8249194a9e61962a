package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  @Autowired ReactorResourceFactory resources;
  @LocalServerPort int port;

  /**
   * The loops run on {@code transport} ({@code io_uring}, {@code epoll}), and a generation is
   * answered through them (the server and the vLLM client share the loops).
   */
  void assertServedOn(String transport) throws Exception {
    assertThat(transport()).isEqualTo(transport);
    try (RawConnection connection = RawConnection.open(port)) {
      connection.send(RawConnection.chat("transport", false, "Connection: close\r\n"));
      assertThat(connection.readUntilClosed())
          .startsWith("HTTP/1.1 200")
          .contains("chat.completion");
    }
  }

  /**
   * Once a generation has been served, the loops (set to busy-poll after their I/O) go to sleep: a
   * second of no traffic costs them a small part of a second of CPU, not a core each.
   */
  void assertLoopsSleepWhenIdle() throws Exception {
    assertServedOn(transport());
    List<Long> loops = loopThreadIds();
    Thread.sleep(100);
    long before = cpuNanos(loops);
    Thread.sleep(1_000);
    long spent = cpuNanos(loops) - before;

    assertThat(spent).as("loop CPU over an idle second, ns").isLessThan(200_000_000L);
  }

  private String transport() {
    return EventLoopConfiguration.transportOf(loops());
  }

  private EventLoopGroup loops() {
    return resources.getLoopResources().onServer(LoopResources.DEFAULT_NATIVE);
  }

  /** The threads of this service's loops, each asked on its loop. */
  private List<Long> loopThreadIds() throws Exception {
    List<Long> ids = new ArrayList<>();
    for (EventExecutor loop : loops()) {
      ids.add(loop.submit(() -> Thread.currentThread().getId()).get(5, TimeUnit.SECONDS));
    }
    return ids;
  }

  private static long cpuNanos(List<Long> threads) {
    return threads.stream().mapToLong(id -> Math.max(0, THREADS.getThreadCpuTime(id))).sum();
  }
}
