package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.config.Periodically;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.ClassPathResource;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Finds the heaviest users of a window without reading every user's keys.
 *
 * <p>Per window and per period of the window's length there is one sorted set, {@code
 * stl:{usage-index}:<w>:<period>}, of user to the tokens reserved by the admissions of that period.
 * A reservation is the most a request can be charged, so a user's score over the periods that
 * overlap the rolling window bounds their usage from above. {@link #top} walks the sets heaviest
 * first a page at a time (Fagin's threshold algorithm), reads each candidate's exact usage with the
 * store's own {@code usage} script, and stops as soon as the {@code count}-th exact usage is at
 * least the bound of every user not yet read. See {@code docs/admin-api.md} for the cost and the
 * limits of the bound.
 *
 * <p>Every index key has the hash tag {@code {usage-index}}: in a cluster they share one slot,
 * which is never a user's, so the index is written by a command of its own after an admission, off
 * the answer path, never inside the user's script.
 */
final class RedisUsageIndex {

  private static final Logger log = LoggerFactory.getLogger(RedisUsageIndex.class);

  /** Most users one period's set keeps; the lightest are dropped beyond it. */
  static final int MAX_USERS_PER_PERIOD = 100_000;

  /** Most candidates one {@link #top} call reads exactly, whatever the bound says. */
  static final int MAX_CANDIDATES = 10_000;

  private static final int MIN_PAGE = 32;
  private static final int PARALLEL_READS = 16;

  /** By default, the longest a reservation waits in this replica before it reaches the index. */
  static final Duration FLUSH_EVERY = Duration.ofSeconds(1);

  private static final int USERS_PER_FLUSH = 500;

  private final ReactiveStringRedisTemplate redis;
  private final Duration flushEvery;

  /** Reservations not yet sent: per minute period, per user. */
  private final Map<Long, Map<String, AtomicLong>> pending = new ConcurrentHashMap<>();

  private volatile Disposable flusher;
  private final RedisScript<Long> record = script("usage-index-record.lua", Long.class);

  @SuppressWarnings("rawtypes")
  private final RedisScript<List> page = script("usage-index-page.lua", List.class);

  RedisUsageIndex(ReactiveStringRedisTemplate redis, Duration flushEvery) {
    this.redis = redis;
    this.flushEvery = flushEvery;
  }

  static String key(Window window, long period) {
    return "stl:{usage-index}:"
        + window.name().substring(0, 1).toLowerCase(Locale.ROOT)
        + ":"
        + period;
  }

  /** The period of {@code window} that holds {@code nowMillis}. */
  static long periodAt(Window window, long nowMillis) {
    return Math.floorDiv(nowMillis, window.lengthMillis());
  }

  /**
   * Adds a reservation to the user's score. Reservations are summed per user in this replica and
   * sent for all users at once every {@code flushEvery}, so that the index costs the request path
   * no Redis command: a score lags by at most that long. A lost write only loosens a bound.
   */
  void record(String userId, long reservedTokens, long nowMillis) {
    // Periods nest (a minute lies in one hour and one day): the minute's period names them all.
    pending
        .computeIfAbsent(periodAt(Window.MINUTE, nowMillis), period -> new ConcurrentHashMap<>())
        .computeIfAbsent(userId, user -> new AtomicLong())
        .addAndGet(reservedTokens);
    if (flusher == null) {
      synchronized (this) {
        if (flusher == null) {
          flusher = Periodically.run("Usage index flush", flushEvery, flushEvery, this::flush);
        }
      }
    }
  }

  /**
   * Sends what every user reserved since the last flush, into the periods they reserved in: one
   * script call per period and 500 users.
   */
  Mono<Void> flush() {
    return Flux.fromIterable(List.copyOf(pending.keySet()))
        .concatMap(
            period -> {
              Map<String, AtomicLong> users = pending.remove(period);
              return users == null
                  ? Mono.<Void>empty()
                  : flush(users, period * Window.MINUTE.lengthMillis());
            })
        .then();
  }

  private Mono<Void> flush(Map<String, AtomicLong> users, long nowMillis) {
    List<String> pairs = new ArrayList<>();
    users.forEach(
        (userId, sum) -> {
          long tokens = sum.getAndSet(0);
          if (tokens > 0) {
            pairs.add(userId);
            pairs.add(Long.toString(tokens));
          }
        });
    return Flux.range(0, (pairs.size() + 2 * USERS_PER_FLUSH - 1) / (2 * USERS_PER_FLUSH))
        .concatMap(
            chunk ->
                send(
                    pairs.subList(
                        chunk * 2 * USERS_PER_FLUSH,
                        Math.min(pairs.size(), (chunk + 1) * 2 * USERS_PER_FLUSH)),
                    nowMillis))
        .then();
  }

  private Mono<Void> send(List<String> userTokenPairs, long nowMillis) {
    List<String> keys = new ArrayList<>();
    List<String> args = new ArrayList<>();
    args.add(Integer.toString(MAX_USERS_PER_PERIOD));
    for (Window window : Window.values()) {
      keys.add(key(window, periodAt(window, nowMillis)));
      // Kept while the window can still count buckets of this period.
      args.add(Long.toString(2 * window.lengthMillis() + 2 * window.bucketMillis()));
    }
    args.addAll(userTokenPairs);
    return redis
        .execute(record, keys, args)
        .then()
        .onErrorResume(
            error -> {
              log.debug("usage index not updated: {}", error.toString());
              return Mono.empty();
            });
  }

  /** Stops the periodic flush. */
  void close() {
    Disposable running = flusher;
    if (running != null) {
      running.dispose();
    }
  }

  /**
   * The {@code count} heaviest users of {@code window}, exact as {@code usage} reads them.
   *
   * @param usage reads one user's exact usage
   */
  Mono<List<UserUsage>> top(
      Window window,
      int count,
      long nowMillis,
      BiFunction<String, Long, Mono<UsageSnapshot>> usage) {
    // Every period that holds a bucket the rolling window still counts.
    long oldest = periodAt(window, nowMillis - window.lengthMillis());
    List<String> keys = new ArrayList<>();
    for (long period = periodAt(window, nowMillis); period >= oldest; period--) {
      keys.add(key(window, period));
    }
    Search search = new Search(window, count);
    int pageSize = Math.max(MIN_PAGE, count);
    return flush()
        .then(Mono.defer(() -> walk(search, keys, 0, pageSize, nowMillis, usage)))
        .then(Mono.fromSupplier(search::result));
  }

  @SuppressWarnings("unchecked")
  private Mono<Void> walk(
      Search search,
      List<String> keys,
      long offset,
      int pageSize,
      long nowMillis,
      BiFunction<String, Long, Mono<UsageSnapshot>> usage) {
    return redis
        .execute(page, keys, List.of(Long.toString(offset), Integer.toString(pageSize)))
        .single()
        .publishOn(Schedulers.parallel())
        .flatMap(
            reply -> {
              List<List<Object>> pages = (List<List<Object>>) (List<?>) reply;
              double bound = 0;
              boolean more = false;
              List<String> fresh = new ArrayList<>();
              for (List<Object> entries : pages) {
                for (int i = 0; i < entries.size(); i += 2) {
                  String user = String.valueOf(entries.get(i));
                  if (search.seen.add(user)) {
                    fresh.add(user);
                  }
                }
                if (entries.size() == 2 * pageSize) {
                  // An unread member of this set scores at most its last score read.
                  bound += Double.parseDouble(String.valueOf(entries.get(entries.size() - 1)));
                  more = true;
                }
              }
              boolean keepWalking = more;
              double unreadBound = bound;
              return Flux.fromIterable(fresh)
                  .flatMap(
                      user -> usage.apply(user, nowMillis).map(u -> new UserUsage(user, u)),
                      PARALLEL_READS)
                  .doOnNext(search::offer)
                  .then(
                      Mono.defer(
                          () -> {
                            if (!keepWalking || search.settledAbove(unreadBound)) {
                              return Mono.empty();
                            }
                            if (search.seen.size() >= MAX_CANDIDATES) {
                              log.warn(
                                  "top {} of {}: stopped after {} candidates; the list may miss"
                                      + " users",
                                  search.count,
                                  search.window,
                                  search.seen.size());
                              return Mono.empty();
                            }
                            return walk(
                                search, keys, offset + pageSize, pageSize, nowMillis, usage);
                          }));
            });
  }

  /** The heaviest users read so far, and every user already read. */
  private static final class Search {

    private final Window window;
    private final int count;
    private final Set<String> seen = new HashSet<>();
    private final Comparator<UserUsage> lightestFirst;
    private final PriorityQueue<UserUsage> heaviest;

    Search(Window window, int count) {
      this.window = window;
      this.count = count;
      this.lightestFirst =
          Comparator.comparingLong((UserUsage u) -> u.usage().tokens(window))
              .thenComparing(UserUsage::userId, Comparator.reverseOrder());
      this.heaviest = new PriorityQueue<>(lightestFirst);
    }

    synchronized void offer(UserUsage candidate) {
      if (candidate.usage().tokens(window) <= 0) {
        return;
      }
      heaviest.add(candidate);
      if (heaviest.size() > count) {
        heaviest.poll();
      }
    }

    /** Whether no user left unread can beat the list: the list is then exact. */
    synchronized boolean settledAbove(double unreadBound) {
      return heaviest.size() == count && heaviest.peek().usage().tokens(window) >= unreadBound;
    }

    synchronized List<UserUsage> result() {
      List<UserUsage> result = new ArrayList<>(heaviest);
      result.sort(lightestFirst.reversed());
      return result;
    }
  }

  private static <T> RedisScript<T> script(String name, Class<T> resultType) {
    try (InputStream in = new ClassPathResource("redis/" + name).getInputStream()) {
      return RedisScript.of(new String(in.readAllBytes(), StandardCharsets.UTF_8), resultType);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Lua script redis/" + name, e);
    }
  }
}
