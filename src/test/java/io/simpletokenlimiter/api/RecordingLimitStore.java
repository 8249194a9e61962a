package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * A limit store that records every admit and settle and can be told what to decide, under the real
 * limiter and its leases. By default it admits with the largest completion budget asked for.
 */
public final class RecordingLimitStore implements LimitStore {

  /** What admitted requests report in their {@code x-ratelimit-*} headers. */
  public static final Quota QUOTA = new Quota(LimitType.MINUTE, 1000, 400, 360_000, 5, 2);

  /** One call to {@link #admit}. */
  public record AdmitCall(String userId, ReservationRequest request) {}

  /** One call to {@link #settle}. */
  public record SettleCall(String leaseId, long chargedTokens) {}

  private final List<AdmitCall> admits = new CopyOnWriteArrayList<>();
  private final List<Admission.Admitted> admitted = new CopyOnWriteArrayList<>();
  private final List<SettleCall> settles = new CopyOnWriteArrayList<>();
  private volatile Function<AdmitCommand, Mono<Admission>> decision;
  private volatile Sinks.Empty<Void> settleGate;

  public RecordingLimitStore() {
    reset();
  }

  public void reset() {
    releaseSettles();
    admits.clear();
    admitted.clear();
    settles.clear();
    admitAll();
  }

  public void admitAll() {
    decision = command -> Mono.just(admission(command, command.request().maxCompletionPerChoice()));
  }

  /** Admits with this completion budget per choice (as when the user's room is short). */
  public void grant(long completionPerChoice) {
    decision = command -> Mono.just(admission(command, completionPerChoice));
  }

  public void reject(Admission.Rejected rejected) {
    decision = command -> Mono.just(rejected);
  }

  public void tooLarge(Admission.TooLarge tooLarge) {
    decision = command -> Mono.just(tooLarge);
  }

  public void fail(RuntimeException error) {
    decision = command -> Mono.error(error);
  }

  private Admission.Admitted admission(AdmitCommand command, long completionPerChoice) {
    Admission.Admitted granted =
        new Admission.Admitted(
            command.userId(),
            command.leaseId(),
            command.unitsWith(completionPerChoice),
            completionPerChoice,
            QUOTA,
            this);
    admitted.add(granted);
    return granted;
  }

  @Override
  public Mono<Admission> admit(AdmitCommand command) {
    return Mono.defer(
        () -> {
          admits.add(new AdmitCall(command.userId(), command.request()));
          return decision.apply(command);
        });
  }

  /** Settles wait, unrecorded, until {@link #releaseSettles()}: a slow store round trip. */
  public void holdSettles() {
    settleGate = Sinks.empty();
  }

  public void releaseSettles() {
    Sinks.Empty<Void> gate = settleGate;
    settleGate = null;
    if (gate != null) {
      gate.tryEmitEmpty();
    }
  }

  @Override
  public Mono<Boolean> settle(String userId, String leaseId, long chargedTokens, long nowMillis) {
    Sinks.Empty<Void> gate = settleGate;
    Mono<Boolean> record =
        Mono.fromSupplier(
            () -> {
              settles.add(new SettleCall(leaseId, chargedTokens));
              return true;
            });
    return gate == null ? record : gate.asMono().then(record);
  }

  /** No outage ever writes back here. */
  @Override
  public Mono<Boolean> chargeOnce(String userId, String chargeId, long units, long nowMillis) {
    return Mono.error(new UnsupportedOperationException("chargeOnce"));
  }

  @Override
  public Mono<Boolean> renew(String userId, String leaseId, long nowMillis, long leaseTtlMillis) {
    return Mono.just(true);
  }

  @Override
  public Mono<UsageSnapshot> usage(String userId, long nowMillis) {
    return Mono.just(UsageSnapshot.EMPTY);
  }

  @Override
  public Mono<UsageSnapshot> teamUsage(String team, long nowMillis) {
    return Mono.just(UsageSnapshot.EMPTY);
  }

  @Override
  public Mono<Void> carryOver(String fromLedger, String toLedger, long nowMillis) {
    return Mono.empty();
  }

  @Override
  public Mono<Void> forget(String userId, long nowMillis) {
    return Mono.empty();
  }

  @Override
  public Mono<List<UserUsage>> top(Window window, int count, long nowMillis) {
    return Mono.just(List.of());
  }

  public List<AdmitCall> admits() {
    return List.copyOf(admits);
  }

  public List<Admission.Admitted> admitted() {
    return List.copyOf(admitted);
  }

  public List<SettleCall> settles() {
    return List.copyOf(settles);
  }

  /** Admitted leases not yet settled: must drop to zero after every request. */
  public long unsettled() {
    return admitted.stream()
        .filter(lease -> settles.stream().noneMatch(s -> s.leaseId().equals(lease.leaseId())))
        .count();
  }

  /** True when every lease was settled exactly once. */
  public boolean settledExactlyOnce() {
    return settles.size() == admitted.size()
        && settles.stream().map(SettleCall::leaseId).distinct().count() == settles.size()
        && unsettled() == 0;
  }
}
