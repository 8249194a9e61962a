package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.metrics.ProxyMetrics;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * Settles one admitted request exactly once, whichever path ends it first (answer, upstream
 * failure, client cancel, our own bug): a second settle would free a slot twice or charge twice.
 */
final class LeaseSettlement {

  private static final Logger log = LoggerFactory.getLogger(LeaseSettlement.class);

  private final TokenLimiter limiter;
  private final ProxyMetrics metrics;
  private final Admission.Admitted admitted;
  private final AtomicBoolean settled = new AtomicBoolean();

  LeaseSettlement(TokenLimiter limiter, ProxyMetrics metrics, Admission.Admitted admitted) {
    this.limiter = limiter;
    this.metrics = metrics;
    this.admitted = admitted;
    metrics.requestAdmitted();
  }

  /** Charges {@code usage}, if nothing was settled yet. Never fails: a lost settle is logged. */
  Mono<Void> settle(Usage usage) {
    return Mono.defer(
        () -> {
          if (!settled.compareAndSet(false, true)) {
            return Mono.empty();
          }
          metrics.requestSettled(usage.promptTokens(), usage.completionTokens());
          return limiter
              .settle(admitted, usage.total())
              .onErrorResume(
                  error -> {
                    log.warn(
                        "Settling lease {} of user {} failed; it expires by itself",
                        admitted.leaseId(),
                        admitted.userId(),
                        error);
                    return Mono.empty();
                  });
        });
  }

  /** For paths that cannot wait for the result, such as a cancel signal. */
  void settleInBackground(Usage usage) {
    settle(usage).subscribe();
  }
}
