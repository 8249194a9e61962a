package io.simpletokenlimiter.api;

import io.simpletokenlimiter.identity.UnidentifiedUserException;
import io.simpletokenlimiter.identity.UserIdResolver;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.filter.reactive.ServerWebExchangeContextFilter;
import reactor.core.publisher.Mono;
import reactor.util.context.ContextView;

/**
 * Where prompts are parsed and counted, so that nobody's small request waits behind someone's large
 * one:
 *
 * <ul>
 *   <li>bodies up to {@code inline-max-body-size} (4 KB) are counted at once on the event loop: a
 *       few microseconds, never queued;
 *   <li>larger ones go to a few counting threads (one per core) through a bounded queue, and each
 *       caller may have only {@code per-caller} of them counting or waiting.
 * </ul>
 *
 * Past the caller's bound the answer is 429 {@code counting_busy}; past the queue, 503 {@code
 * server_busy}; both with {@code Retry-After: 1}. The caller is the user (as the configured
 * identity resolves it), or the remote address for unidentified requests ({@code /tokenize}).
 * Counting is itself bounded per request by the model's context (see {@code PromptTokenCounter}).
 */
public final class PromptCountingLanes {

  private final int inlineMaxBytes;
  private final int perCaller;
  private final ThreadPoolExecutor workers;
  private final UserIdResolver users;

  /** Large bodies of each caller counting or waiting; a caller with none has no entry. */
  private final Map<String, Integer> busy = new ConcurrentHashMap<>();

  PromptCountingLanes(CountingProperties properties, UserIdResolver users) {
    this.inlineMaxBytes = Math.toIntExact(properties.inlineMaxBodySize().toBytes());
    this.perCaller = properties.perCaller();
    this.users = users;
    AtomicInteger threads = new AtomicInteger();
    this.workers =
        new ThreadPoolExecutor(
            properties.threadCount(),
            properties.threadCount(),
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(properties.queue()),
            work -> {
              Thread thread = new Thread(work, "prompt-counting-" + threads.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            },
            new ThreadPoolExecutor.AbortPolicy());
  }

  /** Runs {@code work} for a body of {@code bodyBytes}, inline or in the caller's lane. */
  public <T> Mono<T> run(int bodyBytes, Callable<T> work) {
    if (bodyBytes <= inlineMaxBytes) {
      return Mono.fromCallable(work);
    }
    return Mono.deferContextual(context -> offload(caller(context), work));
  }

  private <T> Mono<T> offload(String caller, Callable<T> work) {
    if (!acquire(caller)) {
      return Mono.error(
          busy(
              HttpStatus.TOO_MANY_REQUESTS,
              "counting_busy",
              "Too many large requests of yours are being counted; retry shortly"));
    }
    CompletableFuture<T> result = new CompletableFuture<>();
    Future<?> task;
    try {
      task =
          workers.submit(
              () -> {
                try {
                  result.complete(work.call());
                } catch (Throwable e) {
                  result.completeExceptionally(e);
                } finally {
                  release(caller);
                }
              });
    } catch (RejectedExecutionException e) {
      release(caller);
      return Mono.error(
          busy(
              HttpStatus.SERVICE_UNAVAILABLE,
              "server_busy",
              "The server is busy counting other large requests; retry shortly"));
    }
    return Mono.fromFuture(result, true)
        .doOnCancel(
            () -> {
              // Not started yet: it never will, so its place is given back here.
              if (task.cancel(false)) {
                release(caller);
              }
            });
  }

  private boolean acquire(String caller) {
    boolean[] acquired = {false};
    busy.compute(
        caller,
        (key, held) -> {
          int now = held == null ? 0 : held;
          if (now >= perCaller) {
            return held;
          }
          acquired[0] = true;
          return now + 1;
        });
    return acquired[0];
  }

  private void release(String caller) {
    busy.computeIfPresent(caller, (key, held) -> held <= 1 ? null : held - 1);
  }

  private String caller(ContextView context) {
    return ServerWebExchangeContextFilter.getExchange(context)
        .map(exchange -> caller(exchange.getRequest()))
        .orElse("unknown");
  }

  private String caller(ServerHttpRequest request) {
    try {
      return "user:" + users.resolve(request);
    } catch (UnidentifiedUserException e) {
      InetSocketAddress remote = request.getRemoteAddress();
      return "address:" + (remote == null ? "unknown" : remote.getAddress().getHostAddress());
    }
  }

  private static ApiException busy(HttpStatus status, String code, String message) {
    HttpHeaders headers = new HttpHeaders();
    headers.set(HttpHeaders.RETRY_AFTER, "1");
    return new ApiException(status, code, message, Map.of(), headers);
  }

  void shutdown() {
    workers.shutdownNow();
  }
}
