package io.simpletokenlimiter.e2e;

import io.simpletokenlimiter.limit.Budget;
import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TeamMove;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.ConfigurableApplicationContext;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Wraps the application's limiter so that a test can hold the admission's answer after the store
 * recorded the lease: the moment where a client that leaves used to leak a slot.
 */
final class GatedLimiter implements TokenLimiter {

  private final TokenLimiter delegate;
  private final AtomicInteger held = new AtomicInteger();
  private volatile Sinks.Empty<Void> gate;

  private GatedLimiter(TokenLimiter delegate) {
    this.delegate = delegate;
    open();
  }

  /** Registers the wrapper on {@code context}; {@code into[0]} receives it once it is built. */
  static void install(ConfigurableApplicationContext context, GatedLimiter[] into) {
    context
        .getBeanFactory()
        .addBeanPostProcessor(
            new BeanPostProcessor() {
              @Override
              public Object postProcessAfterInitialization(Object bean, String name) {
                if (bean instanceof TokenLimiter limiter && !(bean instanceof GatedLimiter)) {
                  into[0] = new GatedLimiter(limiter);
                  return into[0];
                }
                return bean;
              }
            });
  }

  /** From now on, admissions wait after the store answered until {@link #open()}. */
  void close() {
    gate = Sinks.empty();
  }

  void open() {
    Sinks.Empty<Void> current = gate;
    gate = null;
    if (current != null) {
      current.tryEmitEmpty();
    }
  }

  /** Admissions the store answered that the gate holds. */
  int held() {
    return held.get();
  }

  @Override
  public Mono<Lease> admit(String userId, ReservationRequest request, LeaseScope scope) {
    Sinks.Empty<Void> current = gate;
    Mono<Lease> admission = delegate.admit(userId, request, scope);
    if (current == null) {
      return admission;
    }
    return admission.delayUntil(
        lease -> {
          held.incrementAndGet();
          return current.asMono().doFinally(signal -> held.decrementAndGet());
        });
  }

  @Override
  public Mono<UsageSnapshot> usage(String userId) {
    return delegate.usage(userId);
  }

  @Override
  public Mono<UsageSnapshot> teamUsage(String team) {
    return delegate.teamUsage(team);
  }

  @Override
  public Mono<Void> carryOver(TeamMove move) {
    return delegate.carryOver(move);
  }

  @Override
  public Budget budgetFor(String userId) {
    return delegate.budgetFor(userId);
  }

  @Override
  public Mono<Void> forget(String userId) {
    return delegate.forget(userId);
  }

  @Override
  public Mono<List<UserUsage>> top(Window window, int count) {
    return delegate.top(window, count);
  }

  @Override
  public Limits limitsFor(String userId) {
    return delegate.limitsFor(userId);
  }

  @Override
  public int inFlight() {
    return delegate.inFlight();
  }

  @Override
  public Mono<Void> renewLeases() {
    return delegate.renewLeases();
  }
}
