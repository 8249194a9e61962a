package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.LeaseScope;
import java.util.ArrayList;
import java.util.List;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * One HTTP exchange as the scope of the leases admitted for it: it closes when the exchange ends,
 * whether the answer's last byte went out, it failed, or the client hung up at any moment. A lease
 * still unsettled then is abandoned, so no path of the request can hold a slot after its exchange.
 */
final class ExchangeScope implements LeaseScope {

  private static final String ATTRIBUTE = ExchangeScope.class.getName();

  private final List<Runnable> onClose = new ArrayList<>(1);
  private volatile boolean closed;

  /** The scope of {@code exchange}; an exchange the filter did not see never closes. */
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

  private void close() {
    List<Runnable> actions;
    synchronized (onClose) {
      closed = true;
      actions = List.copyOf(onClose);
      onClose.clear();
    }
    actions.forEach(Runnable::run);
  }

  /** Opens a scope for every exchange and closes it when the exchange ends, however it ends. */
  @Component
  static class Filter implements WebFilter, Ordered {

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
      ExchangeScope scope = new ExchangeScope();
      exchange.getAttributes().put(ATTRIBUTE, scope);
      return chain.filter(exchange).doFinally(signal -> scope.close());
    }

    @Override
    public int getOrder() {
      return Ordered.HIGHEST_PRECEDENCE;
    }
  }
}
