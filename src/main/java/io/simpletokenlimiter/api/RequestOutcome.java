package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.Lease;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.http.HttpMethod;
import org.springframework.web.server.ServerWebExchange;

/**
 * What one generation request did, filled in as it goes (who, streamed or not, its lease, its
 * error), and written once as a usage event when it ends.
 */
final class RequestOutcome {

  private static final String ATTRIBUTE = RequestOutcome.class.getName();

  private final String endpoint;
  private final long startNanos = System.nanoTime();
  private final AtomicBoolean written = new AtomicBoolean();
  private volatile String user;
  private volatile boolean stream;
  private volatile Lease lease;
  private volatile String error;
  private volatile String limitType;
  private volatile long firstChunkNanos;

  private RequestOutcome(String endpoint) {
    this.endpoint = endpoint;
  }

  /** Starts the record of a generation request; other exchanges get none. */
  static void openFor(ServerWebExchange exchange) {
    if (exchange.getRequest().getMethod() != HttpMethod.POST) {
      return;
    }
    String path = exchange.getRequest().getPath().value();
    String endpoint =
        path.endsWith("/chat/completions")
            ? "chat/completions"
            : path.endsWith("/completions") ? "completions" : null;
    if (endpoint != null && (path.startsWith("/api/v1/") || path.startsWith("/v1/"))) {
      exchange.getAttributes().put(ATTRIBUTE, new RequestOutcome(endpoint));
    }
  }

  static Optional<RequestOutcome> of(ServerWebExchange exchange) {
    return Optional.ofNullable(exchange.getAttribute(ATTRIBUTE));
  }

  /** The record of {@code exchange}, or one that is never written. */
  static RequestOutcome orDetached(ServerWebExchange exchange) {
    return of(exchange).orElseGet(() -> new RequestOutcome("none"));
  }

  void user(String user) {
    this.user = user;
  }

  void stream(boolean stream) {
    this.stream = stream;
  }

  void lease(Lease lease) {
    this.lease = lease;
  }

  void firstChunk() {
    if (firstChunkNanos == 0) {
      firstChunkNanos = System.nanoTime();
    }
  }

  void failed(String error, String limitType) {
    this.error = error;
    this.limitType = limitType;
  }

  /** True the first time only: an event is written once. */
  boolean claimWrite() {
    return written.compareAndSet(false, true);
  }

  String endpoint() {
    return endpoint;
  }

  long startNanos() {
    return startNanos;
  }

  Optional<String> user() {
    return Optional.ofNullable(user);
  }

  boolean stream() {
    return stream;
  }

  Optional<Lease> lease() {
    return Optional.ofNullable(lease);
  }

  Optional<String> error() {
    return Optional.ofNullable(error);
  }

  Optional<String> limitType() {
    return Optional.ofNullable(limitType);
  }

  /** Nanoseconds from the request's arrival to its first streamed chunk, if one was sent. */
  Optional<Long> timeToFirstChunkNanos() {
    long first = firstChunkNanos;
    return first == 0 ? Optional.empty() : Optional.of(first - startNanos);
  }
}
