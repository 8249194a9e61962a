package io.simpletokenlimiter.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.StrictTokenLimiter;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.limit.wait.LocalSettles;
import io.simpletokenlimiter.testing.MutableClock;
import io.simpletokenlimiter.tokens.PromptCount;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a stream costs when its client leaves: every chunk the limiter received from vLLM counts,
 * also the ones still queued for a client that reads slowly.
 */
class StreamRelayTest {

  private static final JsonMapper JSON = JsonMapper.shared();
  private static final int PROMPT = 20;
  private static final int BUDGET = 100;

  private final StrictTokenLimiter limiter =
      new StrictTokenLimiter(
          new MemoryLimitStore(),
          userId -> new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 10),
          new MutableClock(1_800_000_000_000L),
          Duration.ofSeconds(30),
          Duration.ofMinutes(30),
          new LocalSettles());

  @Test
  void aClientThatLeavesAfterOneEventIsChargedEveryChunkReceived() {
    Lease lease = admit("ann", BUDGET);
    StreamRelay relay = relay();
    lease.chargeIfAbandoned(relay::producedIfCut);
    Sinks.Many<byte[]> vllm = Sinks.many().unicast().onBackpressureBuffer();

    // vLLM sends twelve chunks before the client reads the first; then the client leaves.
    StepVerifier.create(relay.relay(vllm.asFlux(), lease), 0)
        .then(() -> IntStream.rangeClosed(1, 12).forEach(n -> vllm.tryEmitNext(chunk(n))))
        .thenRequest(1)
        .assertNext(
            event -> assertThat(new String(event, StandardCharsets.UTF_8)).contains("\"x1\""))
        .thenCancel()
        .verify();
    lease.abandon().block();

    // Charged what the relay received, not only the one event the client read.
    assertThat(relay.producedIfCut()).isEqualTo(new TokenUsage(PROMPT, 12));
    assertThat(limiter.usage("ann").block().minute()).isEqualTo(PROMPT + 12);
  }

  @Test
  void aStreamReadToItsEndIsChargedItsReportedUsage() {
    Lease lease = admit("bob", BUDGET);
    StreamRelay relay = relay();
    Flux<byte[]> vllm =
        Flux.concat(
            Flux.fromStream(IntStream.rangeClosed(1, 3).mapToObj(StreamRelayTest::chunk)),
            Flux.just(
                event("{\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":3}}"),
                event("[DONE]")));

    List<String> events =
        relay
            .relay(vllm, lease)
            .map(bytes -> new String(bytes, StandardCharsets.UTF_8))
            .collectList()
            .block();
    lease.whenSettled().block();

    assertThat(events).hasSize(4).last().isEqualTo("data: [DONE]\n\n");
    assertThat(limiter.usage("bob").block().minute()).isEqualTo(PROMPT + 3);
  }

  @Test
  void aStreamPastItsBudgetRelaysTheUnreadEventsWithinItThenTheErrorEvent() {
    Lease lease = admit("cy", 3);
    StreamRelay relay = relay(3);
    Sinks.Many<byte[]> vllm = Sinks.many().unicast().onBackpressureBuffer();

    // A broken vLLM streams past max_tokens before the client reads anything.
    StepVerifier.create(
            relay
                .relay(vllm.asFlux(), lease)
                .map(bytes -> new String(bytes, StandardCharsets.UTF_8)),
            0)
        .then(() -> IntStream.rangeClosed(1, 6).forEach(n -> vllm.tryEmitNext(chunk(n))))
        .thenRequest(10)
        .assertNext(event -> assertThat(event).contains("\"x1\""))
        .assertNext(event -> assertThat(event).contains("\"x2\""))
        .assertNext(event -> assertThat(event).contains("\"x3\""))
        .assertNext(event -> assertThat(event).contains("\"error\""))
        .verifyComplete();
    lease.whenSettled().block();

    assertThat(vllm.currentSubscriberCount()).as("vLLM's stream is cancelled").isZero();
    assertThat(limiter.usage("cy").block().minute()).isEqualTo(PROMPT + 3);
  }

  private Lease admit(String user, int budget) {
    return limiter
        .admit(user, ReservationRequest.fixed(PROMPT, 1, budget), LeaseScope.UNBOUNDED)
        .block();
  }

  private static StreamRelay relay() {
    return relay(BUDGET);
  }

  private static StreamRelay relay(int budget) {
    CompletionRequest request =
        new CompletionRequest(
            Endpoint.CHAT,
            JSON.createObjectNode(),
            Optional.empty(),
            OptionalInt.of(budget),
            1,
            true,
            false,
            false);
    PreparedRequest prepared =
        new PreparedRequest(
            request, PromptCount.single(PROMPT), ReservationRequest.fixed(PROMPT, 1, budget));
    return new StreamRelay(JSON, "llama3.2-1b", prepared, budget, new TokenUsage(PROMPT, budget));
  }

  /** vLLM's chunk of token {@code n}, with the usage so far (continuous usage stats). */
  private static byte[] chunk(int n) {
    return event(
        "{\"model\":\"meta-llama/Llama-3.2-1B-Instruct\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"content\":\"x"
            + n
            + "\"}}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":"
            + n
            + "}}");
  }

  private static byte[] event(String data) {
    return ("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8);
  }
}
