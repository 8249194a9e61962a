package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * A limiter double that records every admit and settle, and can be told what to decide. By default
 * it admits with the largest completion budget asked for.
 */
public final class RecordingTokenLimiter implements TokenLimiter {

  /** What admitted requests report in their {@code x-ratelimit-*} headers. */
  public static final Quota QUOTA = new Quota(LimitType.MINUTE, 1000, 400, 360_000, 5, 2);

  /** One call to {@link #admit}. */
  public record AdmitCall(String userId, ReservationRequest request) {}

  /** One call to {@link #settle}. */
  public record SettleCall(String leaseId, long chargedTokens) {}

  private final List<AdmitCall> admits = new CopyOnWriteArrayList<>();
  private final List<Admission.Admitted> admitted = new CopyOnWriteArrayList<>();
  private final List<SettleCall> settles = new CopyOnWriteArrayList<>();
  private volatile Function<ReservationRequest, Mono<Admission>> decision;

  public RecordingTokenLimiter() {
    reset();
  }

  public void reset() {
    admits.clear();
    admitted.clear();
    settles.clear();
    admitAll();
  }

  public void admitAll() {
    decision = request -> Mono.just(admission(request, request.maxCompletionPerChoice()));
  }

  /** Admits with this completion budget per choice (as when the user's room is short). */
  public void grant(long completionPerChoice) {
    decision = request -> Mono.just(admission(request, completionPerChoice));
  }

  public void reject(Admission.Rejected rejected) {
    decision = request -> Mono.just(rejected);
  }

  public void tooLarge(Admission.TooLarge tooLarge) {
    decision = request -> Mono.just(tooLarge);
  }

  public void fail(RuntimeException error) {
    decision = request -> Mono.error(error);
  }

  private Admission.Admitted admission(ReservationRequest request, long completionPerChoice) {
    return new Admission.Admitted(
        "ignored",
        UUID.randomUUID().toString(),
        request.costWith(completionPerChoice),
        completionPerChoice,
        QUOTA,
        new MemoryLimitStore());
  }

  @Override
  public Mono<Admission> admit(String userId, ReservationRequest request) {
    admits.add(new AdmitCall(userId, request));
    return decision
        .apply(request)
        .map(
            admission -> {
              if (admission instanceof Admission.Admitted granted) {
                Admission.Admitted forUser =
                    new Admission.Admitted(
                        userId,
                        granted.leaseId(),
                        granted.reservedTokens(),
                        granted.completionTokensPerChoice(),
                        granted.quota(),
                        granted.holder());
                admitted.add(forUser);
                return forUser;
              }
              return admission;
            });
  }

  @Override
  public Mono<Void> settle(Admission.Admitted lease, long chargedTokens) {
    return Mono.fromRunnable(() -> settles.add(new SettleCall(lease.leaseId(), chargedTokens)));
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
