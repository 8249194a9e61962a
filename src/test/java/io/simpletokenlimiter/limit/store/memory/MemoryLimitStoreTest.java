package io.simpletokenlimiter.limit.store.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.LimitStoreContract;
import io.simpletokenlimiter.limit.store.StoreFullException;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

class MemoryLimitStoreTest extends LimitStoreContract {

  private final MemoryLimitStore store =
      new MemoryLimitStore(Integer.MAX_VALUE, new SimpleMeterRegistry(), SEOUL);

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

  @Test
  void atItsCapTheStoreRefusesNewUsersButNeverForgetsCountedUsage() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    MemoryLimitStore capped = new MemoryLimitStore(3, registry);
    Limits limits = new Limits(1_000, 10_000, 100_000, 5);
    for (String user : List.of("a", "b", "c")) {
      capped.admit(command(user, limits, T0)).block();
      capped.settle(user, "lease", 300, T0).block();
    }

    assertThatThrownBy(() -> capped.admit(command("d", limits, T0 + 1_000)).block())
        .isInstanceOf(StoreFullException.class)
        .hasMessageContaining("token.limit.memory.max-users");
    assertThatThrownBy(() -> capped.admit(command("e", limits, T0 + 1_000)).block())
        .isInstanceOf(StoreFullException.class);

    // Tracked users keep working and keep every token counted.
    assertThat(capped.admit(command("a", limits, T0 + 2_000)).block())
        .isInstanceOf(Admission.Admitted.class);
    capped.settle("a", "lease", 100, T0 + 2_000).block();
    assertThat(capped.usage("b", T0 + 2_000).block().day()).isEqualTo(300);
    assertThat(capped.usage("a", T0 + 2_000).block().day()).isEqualTo(400);
    assertThat(capped.usage("d", T0 + 2_000).block()).isEqualTo(UsageSnapshot.EMPTY);
    assertThat(capped.trackedUsers()).isEqualTo(3);
    assertThat(registry.counter("limiter.memory.users.refused").count()).isEqualTo(2);
    assertThat(registry.get("limiter.memory.users").gauge().value()).isEqualTo(3);

    // A day later every window is empty: the sweep drops them and new users come in.
    capped.evictIdle(T0 + 2_000 + 86_400_000);
    assertThat(capped.trackedUsers()).isZero();
    assertThat(capped.admit(command("d", limits, T0 + 2_000 + 86_400_000)).block())
        .isInstanceOf(Admission.Admitted.class);
    assertThat(capped.trackedUsers()).isEqualTo(1);
  }

  @Test
  void aRefusedOrRejectedNewUserTakesNoPlaceUnderTheCap() {
    MemoryLimitStore capped = new MemoryLimitStore(1, new SimpleMeterRegistry());
    Limits tiny = new Limits(1, 1, 1, 1);

    // rejected at once (the request can never fit): the ledger is idle and dropped again
    assertThat(capped.admit(command("a", tiny, T0)).block()).isInstanceOf(Admission.Rejected.class);
    assertThat(capped.settle("nobody", "lease", 10, T0).block()).isFalse();
    assertThat(capped.renew("nobody", "lease", T0, 1_000).block()).isFalse();

    assertThat(capped.trackedUsers()).isZero();
    assertThat(capped.admit(command("b", new Limits(100, 100, 100, 1), T0)).block())
        .isInstanceOf(Admission.Admitted.class);
  }

  @Test
  void concurrentNewUsersNeverExceedTheCap() {
    MemoryLimitStore capped = new MemoryLimitStore(50, new SimpleMeterRegistry());
    Limits limits = new Limits(1_000, 10_000, 100_000, 5);

    List<Boolean> admitted =
        Flux.range(0, 400)
            .flatMap(
                i ->
                    Mono.defer(() -> capped.admit(command("user-" + i, limits, T0)))
                        .map(admission -> admission instanceof Admission.Admitted)
                        .onErrorResume(StoreFullException.class, full -> Mono.just(false))
                        .subscribeOn(Schedulers.parallel()),
                64)
            .collectList()
            .block();

    assertThat(admitted.stream().filter(a -> a).count()).isEqualTo(50);
    assertThat(capped.trackedUsers()).isEqualTo(50);
  }

  @Test
  void theCapIsSizedToTheHeapUnlessSet() {
    assertThat(new MemoryStoreProperties(null).maxUsersFor(512L << 20)).isEqualTo(262_144);
    assertThat(new MemoryStoreProperties(1_000).maxUsersFor(512L << 20)).isEqualTo(1_000);
  }
}
