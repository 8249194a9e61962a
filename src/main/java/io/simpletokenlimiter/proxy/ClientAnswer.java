package io.simpletokenlimiter.proxy;

import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;

/**
 * What goes back to the client, decided before any of it is written: the forwarder's deadline and
 * its failure handling end with the decision, so a slow or vanished client is never taken for vLLM
 * failing, nor lets its lease go uncharged.
 */
@FunctionalInterface
interface ClientAnswer {

  Mono<Void> writeTo(ServerHttpResponse client);

  /** {@code body} whole, with its length. */
  static ClientAnswer whole(HttpStatusCode status, MediaType type, byte[] body) {
    return client -> {
      client.setStatusCode(status);
      client.getHeaders().setContentType(type);
      client.getHeaders().setContentLength(body.length);
      return client.writeWith(Mono.just(client.bufferFactory().wrap(body)));
    };
  }

  /**
   * Server-sent events, each flushed on its own so the client sees tokens as vLLM makes them. When
   * the write ends other than complete (the client left), {@code onAbandon} runs: the write's
   * cancel does not always reach the events' source, whose answer would then go on unread.
   */
  static ClientAnswer events(Flux<byte[]> events, Runnable onAbandon) {
    return client -> {
      client.setStatusCode(HttpStatus.OK);
      client.getHeaders().setContentType(MediaType.TEXT_EVENT_STREAM);
      client.getHeaders().setCacheControl("no-cache");
      return client
          .writeAndFlushWith(events.map(bytes -> Mono.just(client.bufferFactory().wrap(bytes))))
          .doFinally(
              signal -> {
                if (signal != SignalType.ON_COMPLETE) {
                  onAbandon.run();
                }
              });
    };
  }
}
