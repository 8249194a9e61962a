package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.LeaseScope;
import java.util.ArrayList;
import java.util.List;
import org.springframework.web.server.ServerWebExchange;

/**
 * One HTTP exchange as the scope of the leases admitted for it: it closes when the exchange ends,
 * whether the answer's last byte went out, it failed, or the client hung up at any moment. A lease
 * still unsettled then is abandoned, so no path of the request can hold a slot after its exchange.
 */
final class ExchangeScope implements LeaseScope {

  private static final String ATTRIBUTE = ExchangeScope.class.getName();

  private final List<Runnable> onClose = new ArrayList<>(1);
  private volatile boolean closed;

  /** Opens the scope of {@code exchange}; {@link ExchangeLifecycle} closes it. */
  static ExchangeScope open(ServerWebExchange exchange) {
    ExchangeScope scope = new ExchangeScope();
    exchange.getAttributes().put(ATTRIBUTE, scope);
    return scope;
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
