package io.simpletokenlimiter.api;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * A streamed answer whose last chunk the fake vLLM holds back: until {@link #release()} it keeps
 * one connection to vLLM busy.
 */
final class HeldStream {

  private final FakeVllm vllm;
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Void> end;

  private HeldStream(FakeVllm vllm, WebTestClient client, String user, String body) {
    this.vllm = vllm;
    vllm.answerTokens(4).holdLastChunk();
    this.end =
        client
            .post()
            .uri("/v1/chat/completions")
            .header("X-User-ID", user)
            .accept(MediaType.TEXT_EVENT_STREAM)
            .bodyValue(body)
            .exchange()
            .returnResult(String.class)
            .getResponseBody()
            .doOnNext(events::add)
            .then()
            .toFuture();
  }

  /**
   * Sends {@code body} (a streamed chat request) as {@code user}; returns once its first event
   * came.
   */
  static HeldStream open(FakeVllm vllm, WebTestClient client, String user, String body) {
    HeldStream held = new HeldStream(vllm, client, user, body);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !held.events.isEmpty());
    return held;
  }

  /** Lets vLLM finish the answer; its events once the stream ended. */
  List<String> release() {
    vllm.releaseHeldChunks();
    end.orTimeout(10, TimeUnit.SECONDS).join();
    return events;
  }
}
