package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.config.Periodically;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.springframework.context.SmartLifecycle;
import org.springframework.data.domain.Range;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * Counts the replicas sharing this Redis: each one scores itself in one sorted set, {@code
 * stl:replicas}, every {@link #BEAT}, and drops members silent for {@link #SILENT_BEATS} beats.
 * While Redis is down the last count stands: what each replica's outage share is divided by. The
 * beat is short so that the others count a replica that has just started within a second (at three
 * commands a second per replica); five beats of slack keep one whose clock is a few seconds behind
 * from being dropped.
 */
final class ReplicaHeartbeat implements SmartLifecycle, IntSupplier {

  static final String KEY = "stl:replicas";
  static final Duration BEAT = Duration.ofSeconds(1);
  static final int SILENT_BEATS = 5;

  private final ReactiveStringRedisTemplate redis;
  private final Clock clock;
  private final String member;
  private final Duration beat;
  private final AtomicInteger live = new AtomicInteger(1);
  private volatile Disposable beats;

  ReplicaHeartbeat(ReactiveStringRedisTemplate redis, Clock clock, String replica) {
    this(redis, clock, replica, BEAT);
  }

  /** With another beat: for tests that must outlast many beats. */
  ReplicaHeartbeat(ReactiveStringRedisTemplate redis, Clock clock, String replica, Duration beat) {
    this.redis = redis;
    this.clock = clock;
    this.member = replica + "/" + UUID.randomUUID();
    this.beat = beat;
  }

  /** Replicas seen alive, this one included; at least 1. */
  @Override
  public int getAsInt() {
    return live.get();
  }

  /** One beat: score this replica, forget the silent ones, count the rest. */
  Mono<Long> beat() {
    long now = clock.millis();
    return redis
        .opsForZSet()
        .add(KEY, member, now)
        .then(
            redis
                .opsForZSet()
                .removeRangeByScore(
                    KEY, Range.closed(0.0, (double) (now - SILENT_BEATS * beat.toMillis()))))
        .then(redis.opsForZSet().size(KEY))
        .doOnNext(count -> live.set((int) Math.max(1, count)));
  }

  @Override
  public void start() {
    // A beat Redis does not answer holds the next ones: Periodically skips their ticks. One that
    // fails changes nothing, quietly: while Redis is down the last count stands.
    beats =
        Periodically.run(
            "Replica heartbeat",
            Duration.ZERO,
            beat,
            () -> beat().onErrorResume(e -> Mono.empty()));
  }

  @Override
  public void stop() {
    beats.dispose();
    redis.opsForZSet().remove(KEY, member).onErrorResume(e -> Mono.empty()).subscribe();
  }

  @Override
  public boolean isRunning() {
    return beats != null && !beats.isDisposed();
  }
}
