package io.simpletokenlimiter.limit.store.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import java.lang.ref.Reference;
import org.junit.jupiter.api.Test;

/**
 * What one tracked user costs on the heap, measured: many users are tracked, and the heap in use
 * before and after (after full collections) is compared. The figures in docs/limits.md come from
 * here; the bounds guard against a change that would blow them up.
 */
class MemoryFootprintTest {

  private static final long T0 = 1_800_000_000_000L;
  private static final Limits UNLIMITED =
      new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 10);

  @Test
  void aUserWithOneRequestCostsAFewHundredBytes() {
    int users = 50_000;
    MemoryLimitStore warmUp = new MemoryLimitStore();
    for (int i = 0; i < 20_000; i++) {
      request(warmUp, userId(i), T0 + i);
    }
    long before = usedHeap();
    MemoryLimitStore store = new MemoryLimitStore();
    for (int i = 0; i < users; i++) {
      request(store, userId(i), T0 + i);
    }
    long perUser = (usedHeap() - before) / users;
    System.out.println("memory store: " + perUser + " B per user with one request");
    Reference.reachabilityFence(store);
    Reference.reachabilityFence(warmUp);

    assertThat(store.trackedUsers()).isEqualTo(users);
    assertThat(perUser).isLessThan(512);
  }

  @Test
  void aUserBusyAllDayCostsAFewKilobytes() {
    // warms up the code paths first, so that the JIT's own memory is not counted
    MemoryLimitStore warmUp = new MemoryLimitStore();
    busyDay(warmUp, 50);
    int users = 1_000;
    long before = usedHeap();
    MemoryLimitStore store = new MemoryLimitStore();
    busyDay(store, users);
    long perUser = (usedHeap() - before) / users;
    System.out.println("memory store: " + perUser + " B per user busy all day");
    Reference.reachabilityFence(store);
    Reference.reachabilityFence(warmUp);

    assertThat(perUser).isLessThan(4_096);
  }

  /** A request every minute for a day, then one every second of the last minute. */
  private static void busyDay(MemoryLimitStore store, int users) {
    for (int minute = 0; minute < 24 * 60; minute++) {
      for (int i = 0; i < users; i++) {
        request(store, userId(i), T0 + minute * 60_000L);
      }
    }
    for (int second = 0; second < 60; second++) {
      for (int i = 0; i < users; i++) {
        request(store, userId(i), T0 + 24 * 3_600_000L + second * 1_000L);
      }
    }
  }

  private static String userId(int i) {
    return String.format("user-%019d", i); // 24 characters
  }

  private static void request(MemoryLimitStore store, String user, long now) {
    Admission.Admitted admitted =
        (Admission.Admitted)
            store
                .admit(
                    new AdmitCommand(
                        user,
                        "lease",
                        ReservationRequest.fixed(50, 1, 150),
                        UNLIMITED,
                        now,
                        30_000))
                .block();
    store.settle(user, admitted.leaseId(), 180, now + 500).block();
  }

  private static long usedHeap() {
    Runtime runtime = Runtime.getRuntime();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      used = Math.min(used, runtime.totalMemory() - runtime.freeMemory());
    }
    return used;
  }
}
