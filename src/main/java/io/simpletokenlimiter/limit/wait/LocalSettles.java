package io.simpletokenlimiter.limit.wait;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseEvents;
import io.simpletokenlimiter.limit.TokenUsage;
import java.util.function.Consumer;

/**
 * Hears the leases that end on this replica, so that a request waiting for the room they held is
 * tried again (once their settle has reached the store). One of the limiter's {@link LeaseEvents}.
 */
public final class LocalSettles implements LeaseEvents {

  private volatile Consumer<Lease> listener = lease -> {};

  void listen(Consumer<Lease> listener) {
    this.listener = listener;
  }

  @Override
  public void settled(Lease lease, TokenUsage charged) {
    listener.accept(lease);
  }
}
