package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * A {@link LimitStore} in Redis, shared by every replica: each operation is one Lua script on the
 * user's one hash, {@code stl:{userId}:ledger}, which holds the user's buckets, leases and latest
 * time (layout in {@code prelude.lua}). The hash tag keeps every key of a user in one slot, so the
 * scripts run unchanged on standalone, Sentinel and Cluster. A script reads the hash with one
 * command and writes it with at most three, so an admission and its settlement execute at most 8
 * Redis commands together.
 *
 * <p>Time is always the caller's {@code nowMillis}, never Redis {@code TIME}; see {@code
 * docs/redis-store.md} for the reasons and for what clock skew between replicas can do.
 */
public final class RedisLimitStore implements LimitStore {

  private static final Window[] WINDOWS = Window.values();
  private static final List<String> WINDOW_SPANS = windowSpans();

  private final ReactiveStringRedisTemplate redis;
  private final LimitScripts scripts = LimitScripts.load();
  private final String shortRetryMillis;
  private final RedisUsageIndex usageIndex;

  public RedisLimitStore(ReactiveRedisConnectionFactory connectionFactory) {
    this(new ReactiveStringRedisTemplate(connectionFactory));
  }

  public RedisLimitStore(ReactiveStringRedisTemplate redis) {
    this(redis, RetryHints.SHORT_RETRY_MILLIS, RedisUsageIndex.FLUSH_EVERY);
  }

  /**
   * With another short retry hint (a test sees that the scripts take it from here) and another
   * period for sending the usage index (a test measures a request without it).
   */
  RedisLimitStore(
      ReactiveStringRedisTemplate redis, long shortRetryMillis, Duration usageIndexFlushEvery) {
    this.redis = redis;
    this.shortRetryMillis = Long.toString(shortRetryMillis);
    this.usageIndex = new RedisUsageIndex(redis, usageIndexFlushEvery);
  }

  /** Stops sending the usage index (Spring calls it when the context closes). */
  public void close() {
    usageIndex.close();
  }

  /** Sends the usage index now, instead of at its next period. */
  Mono<Void> flushUsageIndex() {
    return usageIndex.flush();
  }

  /**
   * Opens the connection and has Redis load every script, so that the first burst of requests does
   * not pay for both (and time out on a busy machine). Uses a user id of its own, whose keys expire
   * like any other.
   */
  public Mono<Void> warmUp(long nowMillis) {
    String user = "stl.warm-up";
    String lease = "warm-up";
    AdmitCommand command =
        new AdmitCommand(
            user,
            lease,
            ReservationRequest.fixed(0, 1, 1),
            new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 1),
            nowMillis,
            1_000);
    return admit(command)
        .then(renew(user, lease, nowMillis, 1_000))
        .then(settle(user, lease, 0, nowMillis))
        .then(usage(user, nowMillis))
        .then();
  }

  /** The one key of a user; the braces are the hash tag. */
  static String key(String userId) {
    return "stl:{" + userId + "}:ledger";
  }

  @Override
  public Mono<Admission> admit(AdmitCommand command) {
    ReservationRequest request = command.request();
    Limits limits = command.limits();
    List<String> args = windowArgs(command.nowMillis());
    args.add(command.leaseId());
    args.add(Long.toString(command.leaseTtlMillis()));
    args.add(Long.toString(request.promptTokens()));
    args.add(Integer.toString(request.choices()));
    args.add(Long.toString(request.minCompletionPerChoice()));
    args.add(Long.toString(request.maxCompletionPerChoice()));
    args.add(Integer.toString(limits.maxConcurrent()));
    args.add(shortRetryMillis);
    for (Window window : WINDOWS) {
      args.add(Long.toString(limits.tokens(window)));
    }
    return run(scripts.admit(), command.userId(), args)
        .map(reply -> admission(command, AdmitReply.from(reply)))
        .doOnNext(admission -> indexAdmission(admission, command.nowMillis()));
  }

  @Override
  public Mono<Boolean> settle(String userId, String leaseId, long chargedTokens, long nowMillis) {
    List<String> args = windowArgs(nowMillis);
    args.add(leaseId);
    args.add(Long.toString(chargedTokens));
    return run(scripts.settle(), userId, args).map(found -> found == 1L);
  }

  @Override
  public Mono<Boolean> renew(String userId, String leaseId, long nowMillis, long leaseTtlMillis) {
    List<String> args = windowArgs(nowMillis);
    args.add(leaseId);
    args.add(Long.toString(leaseTtlMillis));
    return run(scripts.renew(), userId, args).map(renewed -> renewed == 1L);
  }

  @Override
  public Mono<UsageSnapshot> usage(String userId, long nowMillis) {
    return run(scripts.usage(), userId, windowArgs(nowMillis))
        .map(reply -> UsageReply.from(reply).snapshot());
  }

  /**
   * Runs one script and hands its reply to a parallel thread: Lettuce delivers every reply of the
   * connection on one I/O thread, and what follows an admission (rewriting up to a megabyte of
   * JSON, forwarding it) would otherwise hold back the Redis replies of every other request.
   */
  private <T> Mono<T> run(RedisScript<T> script, String userId, List<String> args) {
    return redis
        .execute(script, List.of(key(userId)), args)
        .single()
        .publishOn(Schedulers.parallel());
  }

  /** Now, then the windows shortest first: the scripts take every span from here. */
  private static List<String> windowArgs(long nowMillis) {
    List<String> args = new ArrayList<>(32);
    args.add(Long.toString(nowMillis));
    args.addAll(WINDOW_SPANS);
    return args;
  }

  private static List<String> windowSpans() {
    List<String> spans = new ArrayList<>();
    spans.add(Integer.toString(WINDOWS.length));
    for (Window window : WINDOWS) {
      spans.add(prefix(window));
      spans.add(Long.toString(window.bucketMillis()));
      spans.add(Long.toString(window.bucketsPerWindow()));
    }
    return List.copyOf(spans);
  }

  /** Short field prefixes keep the bucket hash small: m, h, d. */
  private static String prefix(Window window) {
    return window.name().substring(0, 1).toLowerCase(Locale.ROOT);
  }

  private Admission admission(AdmitCommand command, AdmitReply reply) {
    LimitType tightest =
        reply.tightestWindow() == 0 ? LimitType.MINUTE : window(reply.tightestWindow()).limitType();
    Quota quota =
        new Quota(
            tightest,
            reply.limitTokens(),
            reply.remainingTokens(),
            reply.resetMillis(),
            command.limits().maxConcurrent(),
            reply.inFlight());
    if (reply.admitted()) {
      return new Admission.Admitted(
          command.userId(),
          command.leaseId(),
          reply.reservedTokens(),
          reply.grantedPerChoice(),
          quota,
          this);
    }
    LimitType blocking =
        reply.blockingWindow() == 0
            ? LimitType.CONCURRENT
            : window(reply.blockingWindow()).limitType();
    return new Admission.Rejected(blocking, reply.retryAfterMillis(), quota);
  }

  /** Scripts number windows from 1, in {@link Window} order. */
  private static Window window(int index) {
    return WINDOWS[index - 1];
  }

  /**
   * Deletes the user's buckets: every window starts from zero. The leases stay, so live
   * reservations still count and are settled as usual.
   */
  @Override
  public Mono<Void> forget(String userId, long nowMillis) {
    return run(scripts.forget(), userId, windowArgs(nowMillis)).then();
  }

  /** The heaviest users from the usage index, each read exactly; see {@link RedisUsageIndex}. */
  @Override
  public Mono<List<UserUsage>> top(Window window, int count, long nowMillis) {
    return usageIndex.top(window, count, nowMillis, this::usage);
  }

  /** An admission's reservation goes to the usage index by a command of its own, not awaited. */
  private void indexAdmission(Admission admission, long nowMillis) {
    if (admission instanceof Admission.Admitted admitted) {
      usageIndex.record(admitted.userId(), admitted.reservedTokens(), nowMillis);
    }
  }
}
