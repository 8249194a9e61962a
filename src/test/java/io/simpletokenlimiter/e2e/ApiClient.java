package io.simpletokenlimiter.e2e;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * An HTTP client of one replica, as users call it: real sockets, the {@code X-User-ID} header of
 * the gateway, every answer kept whole (status, headers, body). Every call is bounded.
 */
final class ApiClient {

  static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
  static final JsonMapper JSON = JsonMapper.builder().build();

  /** Hundreds of one user's requests are in flight at once in the races. */
  private static final ConnectionProvider POOL =
      ConnectionProvider.builder("e2e-clients")
          .maxConnections(1_000)
          .pendingAcquireMaxCount(-1)
          .pendingAcquireTimeout(CALL_TIMEOUT)
          .maxIdleTime(Duration.ofSeconds(2))
          .build();

  private final String baseUrl;
  private final WebClient web;

  ApiClient(String baseUrl) {
    this.baseUrl = baseUrl;
    this.web =
        WebClient.builder()
            .baseUrl(baseUrl)
            .clientConnector(new ReactorClientHttpConnector(HttpClient.create(POOL)))
            .build();
  }

  String baseUrl() {
    return baseUrl;
  }

  /** Posts a chat completion and reads the whole answer, streamed or not. */
  Mono<Answer> chat(String userId, String body) {
    return web.post()
        .uri("/api/v1/chat/completions")
        .header("X-User-ID", userId)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue(body)
        .exchangeToMono(
            response ->
                DataBufferUtils.join(response.bodyToFlux(DataBuffer.class))
                    .map(ApiClient::text)
                    .defaultIfEmpty("")
                    .map(
                        text ->
                            new Answer(
                                response.statusCode().value(),
                                response.headers().asHttpHeaders(),
                                text)))
        .timeout(CALL_TIMEOUT);
  }

  /** The raw body of a streamed answer as it arrives, to cancel it part-way. */
  Flux<String> chatBody(String userId, String body) {
    return web.post()
        .uri("/api/v1/chat/completions")
        .header("X-User-ID", userId)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue(body)
        .exchangeToFlux(response -> response.bodyToFlux(DataBuffer.class).map(ApiClient::text))
        .timeout(CALL_TIMEOUT);
  }

  /** {@code GET /api/v1/usage/{userId}} as the user: the token counts and the extra fields. */
  Usage usage(String userId) {
    Answer answer =
        web.get()
            .uri("/api/v1/usage/{id}", userId)
            .header("X-User-ID", userId)
            .exchangeToMono(
                response ->
                    response
                        .bodyToMono(String.class)
                        .defaultIfEmpty("")
                        .map(
                            text ->
                                new Answer(
                                    response.statusCode().value(),
                                    response.headers().asHttpHeaders(),
                                    text)))
            .block(CALL_TIMEOUT);
    if (answer.status() != 200) {
      throw new IllegalStateException("usage of " + userId + " answered " + answer);
    }
    JsonNode body = answer.json();
    return new Usage(
        body.path("minute").longValue(),
        body.path("hour").longValue(),
        body.path("day").longValue(),
        body.path("concurrent").intValue());
  }

  /** {@code GET} of any path, e.g. {@code /actuator/prometheus}. */
  String get(String path) {
    return web.get().uri(path).retrieve().bodyToMono(String.class).block(CALL_TIMEOUT);
  }

  private static String text(DataBuffer buffer) {
    try {
      return buffer.toString(StandardCharsets.UTF_8);
    } finally {
      DataBufferUtils.release(buffer);
    }
  }

  /** One HTTP answer. */
  record Answer(int status, HttpHeaders headers, String body) {

    JsonNode json() {
      return JSON.readTree(body);
    }

    String header(String name) {
      String value = headers.getFirst(name);
      return value == null ? "" : value;
    }

    /** The {@code error} code of an error body, or empty. */
    String error() {
      if (body.isEmpty() || !body.startsWith("{")) {
        return "";
      }
      return json().path("error").stringValue("");
    }
  }

  /** A user's counted tokens per window and requests in flight. */
  record Usage(long minute, long hour, long day, int concurrent) {}
}
