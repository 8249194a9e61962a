package io.simpletokenlimiter.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;
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
    return chat(userId, body, HttpHeaders.EMPTY);
  }

  /** As {@link #chat(String, String)}, with {@code headers} added (e.g. {@code X-Max-Wait}). */
  Mono<Answer> chat(String userId, String body, HttpHeaders headers) {
    return web.post()
        .uri("/api/v1/chat/completions")
        .header("X-User-ID", userId)
        .headers(all -> all.addAll(headers))
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

  /**
   * Posts a chat completion on a socket of its own, reads until {@code until} has arrived, then
   * closes the socket, as a client that goes away does. (A WebClient that is cancelled may drain
   * the rest of the body instead of closing.) Returns what was read.
   */
  String chatThenHangUp(String userId, String body, String until) {
    try (Socket socket = sendChat(userId, body)) {
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream received = new ByteArrayOutputStream();
      byte[] buffer = new byte[4096];
      int read;
      while ((read = in.read(buffer)) >= 0) {
        received.write(buffer, 0, read);
        String text = received.toString(StandardCharsets.UTF_8);
        if (text.contains(until)) {
          return text;
        }
      }
      throw new IllegalStateException("the answer ended before " + until + ": " + received);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Posts a chat completion on a socket of its own and returns the socket without reading: the
   * caller hangs up by closing it, at the moment it chooses.
   */
  Socket sendChat(String userId, String body) {
    return sendChat(userId, body, "");
  }

  /**
   * As {@link #sendChat(String, String)}, with {@code extraHeaders} ({@code "Name: value\r\n"}).
   */
  Socket sendChat(String userId, String body, String extraHeaders) {
    URI uri = URI.create(baseUrl);
    byte[] content = body.getBytes(StandardCharsets.UTF_8);
    String head =
        "POST /api/v1/chat/completions HTTP/1.1\r\n"
            + "Host: "
            + uri.getHost()
            + ":"
            + uri.getPort()
            + "\r\n"
            + "X-User-ID: "
            + userId
            + "\r\n"
            + extraHeaders
            + "Content-Type: application/json\r\n"
            + "Content-Length: "
            + content.length
            + "\r\n\r\n";
    try {
      Socket socket = new Socket(uri.getHost(), uri.getPort());
      socket.setSoTimeout(Math.toIntExact(CALL_TIMEOUT.toMillis()));
      OutputStream out = socket.getOutputStream();
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.write(content);
      out.flush();
      return socket;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code GET /api/v1/usage/{userId}} as the user: the token counts and requests in flight. */
  Usage usage(String userId) {
    Answer answer = usageAnswer(userId);
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

  /** {@code GET /api/v1/usage/{userId}} as the user, whatever it answers. */
  Answer usageAnswer(String userId) {
    return web.get()
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
  }

  /**
   * Any call, with {@code bearer} as {@code Authorization: Bearer} when not null and {@code body}
   * as JSON when not null, whatever it answers: the admin API's calls.
   */
  Answer send(HttpMethod method, String path, String bearer, String body) {
    WebClient.RequestBodySpec request = web.method(method).uri(path);
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    WebClient.RequestHeadersSpec<?> ready =
        body == null ? request : request.contentType(MediaType.APPLICATION_JSON).bodyValue(body);
    return ready
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
