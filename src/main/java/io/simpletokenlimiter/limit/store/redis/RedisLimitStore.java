package io.simpletokenlimiter.limit.store.redis;

import io.netty.channel.EventLoopGroup;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.CalendarMonth;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.TokenWeights;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.Ledgers;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.publisher.Mono;

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

  private final ReactiveStringRedisTemplate redis;
  private final LoopLocalRedis scriptConnections;
  private final LimitScripts scripts = LimitScripts.load();
  private final String shortRetryMillis;
  private final RedisUsageIndex usageIndex;
  private final CalendarMonth calendar;

  public RedisLimitStore(ReactiveRedisConnectionFactory connectionFactory) {
    this(new ReactiveStringRedisTemplate(connectionFactory));
  }

  public RedisLimitStore(ReactiveRedisConnectionFactory connectionFactory, CalendarMonth calendar) {
    this(
        new ReactiveStringRedisTemplate(connectionFactory),
        RetryHints.SHORT_RETRY_MILLIS,
        RedisUsageIndex.FLUSH_EVERY,
        calendar);
  }

  /**
   * Scripts from a thread of {@code loops} run on that loop's own connection (see {@link
   * LoopLocalRedis}); the rest on the factory's shared one.
   */
  public RedisLimitStore(
      LettuceConnectionFactory connectionFactory, EventLoopGroup loops, CalendarMonth calendar) {
    this(
        new ReactiveStringRedisTemplate(connectionFactory),
        shared -> LoopLocalRedis.perLoop(loops, connectionFactory, shared),
        RetryHints.SHORT_RETRY_MILLIS,
        RedisUsageIndex.FLUSH_EVERY,
        calendar);
  }

  public RedisLimitStore(ReactiveStringRedisTemplate redis) {
    this(redis, RetryHints.SHORT_RETRY_MILLIS, RedisUsageIndex.FLUSH_EVERY);
  }

  public RedisLimitStore(ReactiveStringRedisTemplate redis, CalendarMonth calendar) {
    this(redis, RetryHints.SHORT_RETRY_MILLIS, RedisUsageIndex.FLUSH_EVERY, calendar);
  }

  RedisLimitStore(
      ReactiveStringRedisTemplate redis, long shortRetryMillis, Duration usageIndexFlushEvery) {
    this(redis, shortRetryMillis, usageIndexFlushEvery, CalendarMonth.UTC);
  }

  /**
   * With another short retry hint (a test sees that the scripts take it from here) and another
   * period for sending the usage index (a test measures a request without it).
   */
  RedisLimitStore(
      ReactiveStringRedisTemplate redis,
      long shortRetryMillis,
      Duration usageIndexFlushEvery,
      CalendarMonth calendar) {
    this(redis, LoopLocalRedis::sharedOnly, shortRetryMillis, usageIndexFlushEvery, calendar);
  }

  private RedisLimitStore(
      ReactiveStringRedisTemplate redis,
      Function<ReactiveStringRedisTemplate, LoopLocalRedis> scriptConnections,
      long shortRetryMillis,
      Duration usageIndexFlushEvery,
      CalendarMonth calendar) {
    this.redis = redis;
    this.scriptConnections = scriptConnections.apply(redis);
    this.calendar = calendar;
    this.shortRetryMillis = Long.toString(shortRetryMillis);
    this.usageIndex = new RedisUsageIndex(redis, usageIndexFlushEvery);
  }

  /** Stops sending the usage index and closes the loops' connections (when the context closes). */
  public void close() {
    usageIndex.close();
    scriptConnections.close();
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

  /**
   * The key of a ledger ({@link Ledgers}); the braces are the hash tag. A team member's key is in
   * the team's slot, beside the team's own, so that one script sees both on Redis Cluster too.
   */
  static String key(String ledger) {
    Optional<String> team = Ledgers.team(ledger);
    if (team.isPresent()) {
      return "stl:{team:" + team.get() + "}:user:" + Ledgers.user(ledger);
    }
    return "stl:{" + ledger + "}:ledger";
  }

  static String teamKey(String team) {
    return "stl:{team:" + team + "}:team";
  }

  /** The user's key, then the team's for a team member. */
  private static List<String> keys(String ledger) {
    return Ledgers.team(ledger)
        .map(team -> List.of(key(ledger), teamKey(team)))
        .orElseGet(() -> List.of(key(ledger)));
  }

  @Override
  public Mono<Admission> admit(AdmitCommand command) {
    ReservationRequest request = command.request();
    TokenWeights weights = command.weights();
    List<String> args = windowArgs(command.nowMillis());
    args.add(command.leaseId());
    args.add(Long.toString(command.leaseTtlMillis()));
    args.add(Long.toString(weights.promptUnits(request.promptTokens())));
    args.add(Integer.toString(request.choices()));
    args.add(Long.toString(request.minCompletionPerChoice()));
    args.add(Long.toString(request.maxCompletionPerChoice()));
    args.add(Long.toString(weights.completionMillis()));
    args.add(shortRetryMillis);
    addLimits(args, command.limits());
    command.team().ifPresent(team -> addLimits(args, team.limits()));
    // Without the team's limits (the outage fallback writing back a member's usage) only the
    // user's own ledger is charged.
    List<String> keys =
        command.team().isPresent() ? keys(command.userId()) : List.of(key(command.userId()));
    return run(scripts.admit(), keys, args)
        .map(reply -> admission(command, AdmitReply.from(reply)))
        .doOnNext(admission -> indexAdmission(admission, command.nowMillis()));
  }

  private static void addLimits(List<String> args, Limits limits) {
    args.add(Integer.toString(limits.maxConcurrent()));
    for (Window window : WINDOWS) {
      args.add(Long.toString(limits.tokens(window)));
    }
    args.add(Long.toString(limits.tokensPerMonth()));
  }

  @Override
  public Mono<Boolean> settle(String userId, String leaseId, long chargedTokens, long nowMillis) {
    List<String> args = windowArgs(nowMillis);
    args.add(leaseId);
    args.add(Long.toString(chargedTokens));
    return run(scripts.settle(), keys(userId), args).map(found -> found == 1L);
  }

  /** One script; the ids sit in a set beside the user's hash for a day after the latest. */
  @Override
  public Mono<Boolean> chargeOnce(String userId, String chargeId, long units, long nowMillis) {
    List<String> args = windowArgs(nowMillis);
    args.add(chargeId);
    args.add(Long.toString(units));
    args.add(Long.toString(Window.DAY.lengthMillis()));
    List<String> keys = new ArrayList<>(keys(userId));
    keys.add(key(userId) + ":charges");
    return run(scripts.chargeOnce(), keys, args)
        .map(charged -> charged == 1L)
        .doOnNext(
            charged -> {
              if (charged) {
                usageIndex.record(userId, units, nowMillis);
              }
            });
  }

  @Override
  public Mono<Boolean> renew(String userId, String leaseId, long nowMillis, long leaseTtlMillis) {
    List<String> args = windowArgs(nowMillis);
    args.add(leaseId);
    args.add(Long.toString(leaseTtlMillis));
    return run(scripts.renew(), keys(userId), args).map(renewed -> renewed == 1L);
  }

  @Override
  public Mono<UsageSnapshot> usage(String userId, long nowMillis) {
    return run(scripts.usage(), List.of(key(userId)), windowArgs(nowMillis))
        .map(reply -> UsageReply.from(reply).snapshot());
  }

  @Override
  public Mono<UsageSnapshot> teamUsage(String team, long nowMillis) {
    return run(scripts.usage(), List.of(teamKey(team)), windowArgs(nowMillis))
        .map(reply -> UsageReply.from(reply).snapshot());
  }

  /**
   * Runs one script, on the calling event loop's own connection when it has one: then its reply
   * arrives on that same thread. Otherwise the reply arrives on the shared connection's I/O thread;
   * a request's admission is carried on from its own event loop ({@link
   * io.simpletokenlimiter.limit.LeaseScope#resume}), and what follows the other scripts is light
   * enough to stay there.
   */
  private <T> Mono<T> run(RedisScript<T> script, List<String> keys, List<String> args) {
    return scriptConnections.current().run(script, keys, args);
  }

  /**
   * Now, then the calendar month of now: the windows' spans are in the scripts' text ({@link
   * LimitScripts#windowSpans}).
   */
  private List<String> windowArgs(long nowMillis) {
    List<String> args = new ArrayList<>(24);
    args.add(Long.toString(nowMillis));
    CalendarMonth.Span month = calendar.at(nowMillis);
    args.add(Long.toString(month.startMillis()));
    args.add(Long.toString(month.endMillis()));
    return args;
  }

  /** Short field prefixes keep the bucket hash small: m, h, d. */
  static String prefix(Window window) {
    return window.name().substring(0, 1).toLowerCase(Locale.ROOT);
  }

  private Admission admission(AdmitCommand command, AdmitReply reply) {
    LimitType tightest =
        reply.tightestWindow() == 0 ? LimitType.MINUTE : limitType(reply.tightestWindow());
    Quota quota =
        new Quota(
            tightest,
            reply.limitTokens(),
            reply.remainingTokens(),
            reply.resetMillis(),
            command.limits().maxConcurrent(),
            reply.inFlight(),
            reply.quotaScope());
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
        reply.blockingWindow() == 0 ? LimitType.CONCURRENT : limitType(reply.blockingWindow());
    return new Admission.Rejected(blocking, reply.retryAfterMillis(), quota, reply.scope());
  }

  /** Scripts number windows from 1, in {@link Window} order, then the month. */
  private static LimitType limitType(int index) {
    return index > WINDOWS.length ? LimitType.MONTH : WINDOWS[index - 1].limitType();
  }

  /**
   * Deletes the user's buckets: every window starts from zero. The leases stay, so live
   * reservations still count and are settled as usual.
   */
  @Override
  public Mono<Void> forget(String userId, long nowMillis) {
    return run(scripts.forget(), List.of(key(userId)), windowArgs(nowMillis)).then();
  }

  /**
   * Carries the user's counts from the ledger of their old team to the new one, whose key is in
   * another slot: read the old ledger, add what it counts to the new one, then take exactly that
   * out of the old one. Until the last step both count it, so nothing is ever under-counted; a
   * replica still on the old team meanwhile charges the old ledger, and carries that itself when it
   * reloads. The team ledgers keep what they counted: the old team spent it.
   */
  @Override
  public Mono<Void> carryOver(String fromLedger, String toLedger, long nowMillis) {
    if (key(fromLedger).equals(key(toLedger))) {
      return Mono.empty();
    }
    return run(scripts.carryRead(), List.of(key(fromLedger)), windowArgs(nowMillis))
        .flatMap(
            fields -> {
              if (fields.isEmpty()) {
                return Mono.empty();
              }
              List<String> args = windowArgs(nowMillis);
              fields.forEach(field -> args.add(field.toString()));
              return run(scripts.carryIn(), List.of(key(toLedger)), args)
                  .then(run(scripts.carrySubtract(), List.of(key(fromLedger)), args));
            })
        .then();
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
