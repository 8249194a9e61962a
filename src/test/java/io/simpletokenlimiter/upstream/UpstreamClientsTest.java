package io.simpletokenlimiter.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.ConnectionProvider;

/** Each HTTP event loop reaches vLLM over connections of its own, on itself, over real sockets. */
@Timeout(30)
class UpstreamClientsTest {

  private static final Duration BLOCK = Duration.ofSeconds(10);

  private final List<ConnectionProvider> pools = new ArrayList<>();
  private EventLoopGroup group;
  private DisposableServer vllm;

  @BeforeEach
  void start() {
    group = new MultiThreadIoEventLoopGroup(3, NioIoHandler.newFactory());
    vllm =
        HttpServer.create()
            .host("127.0.0.1")
            .port(0)
            .handle((request, response) -> response.sendString(Mono.just("ok")))
            .bindNow();
  }

  @AfterEach
  void stop() {
    pools.forEach(ConnectionProvider::dispose);
    vllm.disposeNow();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void aCallFromALoopGoesOutAndIsAnsweredOnThatLoop() throws Exception {
    UpstreamClients clients = UpstreamClients.perLoop(group, 9, this::pool, this::client);

    for (EventLoop loop : loops()) {
      for (int call = 0; call < 3; call++) {
        EventLoop answeredOn =
            loop.submit(() -> clients.current())
                .get()
                .get()
                .uri("/health")
                .responseConnection(
                    (response, connection) -> Mono.just(connection.channel().eventLoop()))
                .next()
                .block(BLOCK);
        assertThat(answeredOn).isSameAs(loop);
      }
    }
  }

  @Test
  void theConnectionsAreSplitBetweenTheLoops() {
    UpstreamClients.perLoop(group, 10, this::pool, this::client);

    assertThat(pools).extracting(ConnectionProvider::maxConnections).containsExactly(4, 3, 3);
    assertThat(pools)
        .extracting(ConnectionProvider::name)
        .containsExactly("vllm-0", "vllm-1", "vllm-2");
  }

  @Test
  void fewerConnectionsThanLoopsKeepOnePool() {
    UpstreamClients clients = UpstreamClients.perLoop(group, 2, this::pool, this::client);

    assertThat(pools).extracting(ConnectionProvider::maxConnections).containsExactly(2);
    assertThat(pools).extracting(ConnectionProvider::name).containsExactly("vllm");
    assertThat(healthOf(clients.current())).isEqualTo("ok");
  }

  @Test
  void withoutLoopsThereIsOnePoolOfEveryConnection() {
    UpstreamClients clients = UpstreamClients.perLoop(List.of(), 9, this::pool, this::client);

    assertThat(pools).extracting(ConnectionProvider::maxConnections).containsExactly(9);
    assertThat(pools).extracting(ConnectionProvider::name).containsExactly("vllm");
    assertThat(healthOf(clients.current())).isEqualTo("ok");
  }

  @Test
  void aCallFromAnotherThreadUsesTheFirstLoopsClient() throws Exception {
    UpstreamClients clients = UpstreamClients.perLoop(group, 9, this::pool, this::client);

    assertThat(clients.current()).isSameAs(loops().get(0).submit(clients::current).get());
  }

  @Test
  void closingClosesEveryPool() {
    UpstreamClients clients = UpstreamClients.perLoop(group, 9, this::pool, this::client);
    UpstreamClients json = clients.map(client -> client.headers(h -> h.set("accept", "x/y")));

    json.close();

    assertThat(pools).hasSize(3).allMatch(ConnectionProvider::isDisposed);
  }

  @Test
  void closingTheSharedPoolClosesIt() {
    UpstreamClients clients = UpstreamClients.perLoop(List.of(), 9, this::pool, this::client);
    assertThat(healthOf(clients.current())).isEqualTo("ok");

    clients.close();

    assertThat(pools).hasSize(1).allMatch(ConnectionProvider::isDisposed);
  }

  private static String healthOf(HttpClient client) {
    return client.get().uri("/health").responseContent().aggregate().asString().block(BLOCK);
  }

  private List<EventLoop> loops() {
    List<EventLoop> loops = new ArrayList<>();
    for (EventExecutor executor : group) {
      loops.add((EventLoop) executor);
    }
    return loops;
  }

  private ConnectionProvider pool(String suffix, int maxConnections) {
    ConnectionProvider pool =
        ConnectionProvider.builder("vllm" + suffix).maxConnections(maxConnections).build();
    pools.add(pool);
    return pool;
  }

  private HttpClient client(ConnectionProvider pool) {
    return HttpClient.create(pool).baseUrl("http://127.0.0.1:" + vllm.port());
  }
}
