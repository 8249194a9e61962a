package io.simpletokenlimiter.upstream;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

/**
 * The HTTP clients to vLLM: one per HTTP event loop, each with a pool of its own whose connections
 * live on that loop. A request then reaches vLLM and reads its answer on its own thread. With one
 * shared pool, a request took whichever connection was idle, on either loop: on 2 cores more than
 * half of them woke the other loop to send and were woken back for the answer (strace: an eventfd
 * write each way), two thread wake-ups on a request's path. Calls from any other thread use the
 * first loop's client.
 *
 * <p>The replica's {@code max-connections} is split between the loops (the first ones take the
 * remainder), so a loop whose connections are all busy waits for one of its own even while another
 * loop has idle ones. With fewer connections than loops, or no loops known, there is one client.
 *
 * <p>{@link #close()} (Spring calls it at shutdown, after the server has drained) closes the pools'
 * connections.
 */
public final class UpstreamClients implements AutoCloseable {

  private final EventLoop[] loops;
  private final HttpClient[] clients;
  private final List<ConnectionProvider> pools;

  private UpstreamClients(EventLoop[] loops, HttpClient[] clients, List<ConnectionProvider> pools) {
    this.loops = loops;
    this.clients = clients;
    this.pools = pools;
  }

  /**
   * One client per event loop of {@code loops} (the HTTP server's): {@code client} made from a pool
   * that {@code pool} sizes to the loop's share of {@code maxConnections} (and names with the
   * loop's index), running its connections on that loop. One client on Reactor Netty's own loops
   * when there are no loops or fewer connections than loops.
   */
  static UpstreamClients perLoop(
      Iterable<EventExecutor> loops,
      int maxConnections,
      BiFunction<String, Integer, ConnectionProvider> pool,
      Function<ConnectionProvider, HttpClient> client) {
    List<EventLoop> eventLoops = new ArrayList<>();
    for (EventExecutor executor : loops) {
      if (executor instanceof EventLoop loop) {
        eventLoops.add(loop);
      }
    }
    if (eventLoops.isEmpty() || maxConnections < eventLoops.size()) {
      ConnectionProvider shared = pool.apply("", maxConnections);
      return new UpstreamClients(
          new EventLoop[0], new HttpClient[] {client.apply(shared)}, List.of(shared));
    }
    HttpClient[] clients = new HttpClient[eventLoops.size()];
    List<ConnectionProvider> pools = new ArrayList<>();
    for (int i = 0; i < clients.length; i++) {
      int share = maxConnections / clients.length + (i < maxConnections % clients.length ? 1 : 0);
      pools.add(pool.apply("-" + i, share));
      clients[i] = client.apply(pools.get(i)).runOn(new OneLoop(eventLoops.get(i)));
    }
    return new UpstreamClients(eventLoops.toArray(EventLoop[]::new), clients, List.copyOf(pools));
  }

  /** The client of the calling thread's loop, or the first one. */
  public HttpClient current() {
    for (int i = 0; i < loops.length; i++) {
      if (loops[i].inEventLoop()) {
        return clients[i];
      }
    }
    return clients[0];
  }

  /** The same clients, each changed by {@code change}. */
  UpstreamClients map(UnaryOperator<HttpClient> change) {
    HttpClient[] changed = new HttpClient[clients.length];
    for (int i = 0; i < clients.length; i++) {
      changed[i] = change.apply(clients[i]);
    }
    return new UpstreamClients(loops, changed, pools);
  }

  /** Closes every pool's connections; a call made afterwards fails. */
  @Override
  public void close() {
    pools.forEach(ConnectionProvider::dispose);
  }

  /** One HTTP loop as a client's only loop; the HTTP server shuts it down, not the client. */
  private record OneLoop(EventLoop loop) implements LoopResources {

    @Override
    public EventLoopGroup onServer(boolean useNative) {
      return loop;
    }
  }
}
