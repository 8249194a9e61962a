package io.simpletokenlimiter.limit.store.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.LimitStoreContract;
import org.junit.jupiter.api.Test;

class MemoryLimitStoreTest extends LimitStoreContract {

  private final MemoryLimitStore store = new MemoryLimitStore();

  @Override
  protected LimitStore store() {
    return store;
  }

  @Test
  void forgetsAUserWhoseDayWindowIsEmpty() {
    Limits limits = new Limits(1_000, 10_000, 100_000, 5);
    store.admit(command("idle", limits, T0)).block();
    store.settle("idle", "lease", 10, T0).block();
    store.admit(command("rejected-only", new Limits(1, 1, 1, 1), T0)).block();
    assertThat(store.trackedUsers()).isEqualTo(1);

    store.evictIdle(T0 + 86_400_000 - 1);
    assertThat(store.trackedUsers()).isEqualTo(1);
    store.evictIdle(T0 + 86_400_000);
    assertThat(store.trackedUsers()).isZero();
  }

  private static AdmitCommand command(String user, Limits limits, long now) {
    return new AdmitCommand(user, "lease", ReservationRequest.fixed(5, 1, 5), limits, now, 30_000);
  }
}
