package io.simpletokenlimiter.upstream;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.micrometer.core.instrument.Timer;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.timeout.ReadTimeoutException;
import io.simpletokenlimiter.metrics.ProxyMetrics;
import java.net.URI;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.HttpClientResponse;
import reactor.netty.internal.shaded.reactor.pool.PoolAcquirePendingLimitException;
import reactor.netty.internal.shaded.reactor.pool.PoolAcquireTimeoutException;

/**
 * Sends a request body to vLLM. The first-byte timeout covers the wait for the status line, and the
 * idle timeout each gap between body chunks ({@link UpstreamReadDeadline}, timers on the
 * connection's own event loop); the circuit breaker watches both. A 4xx is an answer (the client's
 * mistake, passed through), not a failure of the model server.
 *
 * <p>Reactor Netty's client is used directly: this is every request's path, and Spring's client
 * layer (URI templates, header adapters, body inserters, response entities) cost about a tenth of
 * the proxy's CPU here without adding anything this call needs.
 */
@Component
public class UpstreamClient {

  private static final int MAX_ADDRESSES = 16;

  private final UpstreamClients json;
  private final UpstreamClients eventStream;
  private final CircuitBreaker breaker;
  private final ProxyMetrics metrics;
  private final String baseUrl;
  private final Map<String, URI> addresses = new ConcurrentHashMap<>();

  public UpstreamClient(
      UpstreamClients clients,
      @Qualifier(UpstreamConfiguration.CIRCUIT_BREAKER) CircuitBreaker breaker,
      ProxyMetrics metrics) {
    this.json = clients.map(client -> accepting(client, MediaType.APPLICATION_JSON));
    this.eventStream = clients.map(client -> accepting(client, MediaType.TEXT_EVENT_STREAM));
    this.breaker = breaker;
    this.metrics = metrics;
    this.baseUrl =
        Objects.requireNonNull(
            clients.current().configuration().baseUrl(),
            "the vLLM client has no base URL (vLLM's address)");
  }

  private static HttpClient accepting(HttpClient client, MediaType accept) {
    String acceptValue = accept.toString();
    return client.headers(
        headers ->
            headers
                .set(HttpHeaderNames.CONTENT_TYPE, MediaType.APPLICATION_JSON_VALUE)
                .set(HttpHeaderNames.ACCEPT, acceptValue));
  }

  /**
   * POSTs {@code body} to {@code path} on vLLM. Fails with {@link UpstreamUnavailableException}
   * when no answer comes, and later from the body when vLLM stops sending mid-way.
   */
  public Mono<UpstreamResponse> post(String path, byte[] body, MediaType accept) {
    return post(path, body, accept, () -> true);
  }

  /**
   * As {@link #post(String, byte[], MediaType)}; {@code onSending} runs once a connection to vLLM
   * is ready and the request is about to go out (not while it waits for a pooled connection). When
   * it answers false the request is not sent: the call fails with {@link CallerLeftException}.
   */
  public Mono<UpstreamResponse> post(
      String path, byte[] body, MediaType accept, BooleanSupplier onSending) {
    UpstreamClients clients = MediaType.TEXT_EVENT_STREAM.equals(accept) ? eventStream : json;
    return Mono.defer(
        () -> {
          Timer.Sample sample = metrics.startUpstreamCall();
          return clients
              .current()
              .post()
              .uri(address(path))
              .send(
                  (request, outbound) -> {
                    if (!onSending.getAsBoolean()) {
                      return Mono.error(new CallerLeftException());
                    }
                    return outbound
                        .withConnection(
                            connection -> UpstreamReadDeadline.arm(connection.channel()))
                        .send(Mono.just(Unpooled.wrappedBuffer(body)));
                  })
              .responseConnection(this::toResponse)
              .next()
              .transformDeferred(CircuitBreakerOperator.of(breaker))
              .doOnSuccess(response -> metrics.upstreamCallEnded(sample, "answered"))
              .doOnError(
                  error -> {
                    if (!(error instanceof CallerLeftException)) {
                      metrics.upstreamCallEnded(
                          sample, isPoolExhausted(error) ? "pool_exhausted" : "failed");
                    }
                  })
              .onErrorMap(
                  error ->
                      !(error instanceof UpstreamUnavailableException
                          || error instanceof CallerLeftException),
                  UpstreamClient::unavailable);
        });
  }

  /**
   * The status line has arrived. A 5xx fails the call (its connection is closed rather than read);
   * anything else becomes a response whose body is read, or cancelled, by the caller.
   */
  private Mono<UpstreamResponse> toResponse(HttpClientResponse response, Connection connection) {
    int status = response.status().code();
    if (status >= 500) {
      connection.dispose();
      return Mono.error(new UpstreamUnavailableException("vLLM answered " + status));
    }
    String contentType = response.responseHeaders().get(HttpHeaderNames.CONTENT_TYPE);
    Flux<byte[]> body =
        connection.inbound().receive().asByteArray().onErrorMap(UpstreamClient::unavailable);
    return Mono.just(
        new UpstreamResponse(
            status,
            contentType == null
                ? MediaType.APPLICATION_JSON
                : MediaType.parseMediaType(contentType),
            body,
            () -> abandon(connection)));
  }

  /**
   * Closes the connection of {@code call} if its answer is still coming: vLLM stops generating only
   * when the connection closes. Once the answer has ended the connection is back in the pool,
   * perhaps carrying another call, and is left alone.
   */
  private static void abandon(Connection call) {
    Channel channel = call.channel();
    if (channel.eventLoop().inEventLoop()) {
      closeIfStillOn(call);
      return;
    }
    try {
      channel.eventLoop().execute(() -> closeIfStillOn(call));
    } catch (RejectedExecutionException shuttingDown) {
      // the loop is stopping and closes its connections itself
    }
  }

  private static void closeIfStillOn(Connection call) {
    if (Connection.from(call.channel()) == call) {
      call.channel().close();
    }
  }

  /**
   * The absolute address of a path on vLLM, parsed once: given a string, Reactor Netty matches it
   * against a regular expression on every call. The paths are the service's own few, not clients'.
   */
  private URI address(String path) {
    URI address = addresses.get(path);
    if (address == null) {
      address = URI.create(baseUrl + path);
      if (addresses.size() < MAX_ADDRESSES) {
        addresses.put(path, address);
      }
    }
    return address;
  }

  /**
   * Whether {@code error} means every pooled connection to vLLM was busy for the whole wait
   * (token.limit.upstream.max-connections): the replica's limit, not vLLM failing. The exceptions
   * are Reactor Netty's shaded pool classes; should they move in an upgrade, this stops compiling
   * rather than silently counting a busy pool against vLLM.
   */
  static boolean isPoolExhausted(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof PoolAcquireTimeoutException
          || cause instanceof PoolAcquirePendingLimitException) {
        return true;
      }
    }
    return false;
  }

  private static UpstreamUnavailableException unavailable(Throwable error) {
    if (error instanceof UpstreamUnavailableException unavailable) {
      return unavailable;
    }
    if (isPoolExhausted(error)) {
      return new UpstreamUnavailableException(
          "no free connection to vLLM (token.limit.upstream.max-connections)", error);
    }
    if (error instanceof CallNotPermittedException) {
      return new UpstreamUnavailableException("circuit breaker open", error);
    }
    if (error instanceof TimeoutException || error instanceof ReadTimeoutException) {
      return new UpstreamUnavailableException("vLLM timed out", error);
    }
    return new UpstreamUnavailableException("vLLM unreachable: " + error.getMessage(), error);
  }
}
