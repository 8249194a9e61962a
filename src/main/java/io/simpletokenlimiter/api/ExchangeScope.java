package io.simpletokenlimiter.api;

import io.netty.channel.EventLoop;
import io.simpletokenlimiter.limit.LeaseScope;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.web.server.ServerWebExchange;
import reactor.netty.Connection;

/**
 * One HTTP exchange as the scope of the leases admitted for it: it closes when the exchange ends,
 * whether the answer's last byte went out, it failed, or the client hung up at any moment. A lease
 * still unsettled then is abandoned, so no path of the request can hold a slot after its exchange.
 */
final class ExchangeScope implements LeaseScope {

  private static final String ATTRIBUTE = ExchangeScope.class.getName();

  private final List<Runnable> onClose = new ArrayList<>(1);

  /** The event loop of the exchange's connection; null when it is not on Reactor Netty. */
  private final EventLoop loop;

  private volatile boolean closed;

  ExchangeScope(EventLoop loop) {
    this.loop = loop;
  }

  /** Opens the scope of {@code exchange}; {@link ExchangeLifecycle} closes it. */
  static ExchangeScope open(ServerWebExchange exchange) {
    ExchangeScope scope = new ExchangeScope(eventLoopOf(exchange));
    exchange.getAttributes().put(ATTRIBUTE, scope);
    return scope;
  }

  private static EventLoop eventLoopOf(ServerWebExchange exchange) {
    Object request = ServerHttpRequestDecorator.getNativeRequest(exchange.getRequest());
    return request instanceof Connection connection ? connection.channel().eventLoop() : null;
  }

  /** The scope of {@code exchange}; an exchange the lifecycle filter did not see never closes. */
  static LeaseScope of(ServerWebExchange exchange) {
    return exchange.getAttributeOrDefault(ATTRIBUTE, LeaseScope.UNBOUNDED);
  }

  @Override
  public boolean isOpen() {
    return !closed;
  }

  @Override
  public void onClose(Runnable action) {
    synchronized (onClose) {
      if (!closed) {
        onClose.add(action);
        return;
      }
    }
    action.run();
  }

  /**
   * On the connection's event loop, the request's pooled connection to vLLM is on the same loop
   * too, so the request goes on without another hand-off.
   */
  @Override
  public void resume(Runnable continuation) {
    if (loop == null || loop.inEventLoop()) {
      continuation.run();
      return;
    }
    try {
      loop.execute(continuation);
    } catch (RejectedExecutionException shuttingDown) {
      continuation.run();
    }
  }

  void close() {
    List<Runnable> actions;
    synchronized (onClose) {
      closed = true;
      actions = List.copyOf(onClose);
      onClose.clear();
    }
    actions.forEach(Runnable::run);
  }
}
