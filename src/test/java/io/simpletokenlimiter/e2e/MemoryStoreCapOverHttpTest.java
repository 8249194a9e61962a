package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A replica whose in-memory store may track three users: a fourth gets 503 {@code
 * limiter_unavailable} saying why, while the three keep being served and counted.
 */
@Timeout(60)
class MemoryStoreCapOverHttpTest {

  private static final Duration BLOCK = Duration.ofSeconds(20);

  @Test
  void aNewUserBeyondTheCapGets503AndTrackedUsersKeepGoing() {
    String run = UUID.randomUUID().toString().substring(0, 8);
    try (FakeVllm vllm = FakeVllm.start();
        LimiterInstance replica =
            LimiterInstance.start(
                Map.of(
                    "token.limit.vllm-url", vllm.baseUrl(), "token.limit.memory.max-users", "3"))) {
      ApiClient api = replica.api();
      String body = ChatRequest.of(20, "cap").json();
      for (int i = 0; i < 3; i++) {
        assertThat(api.chat("tracked-" + i + "-" + run, body).block(BLOCK).status()).isEqualTo(200);
      }

      ApiClient.Answer refused = api.chat("new-" + run, body).block(BLOCK);

      assertThat(refused.status()).isEqualTo(503);
      assertThat(refused.json().path("error").asText()).isEqualTo("limiter_unavailable");
      assertThat(refused.json().path("message").asText())
          .contains("Too many users", "token.limit.memory.max-users");
      assertThat(api.chat("tracked-0-" + run, body).block(BLOCK).status()).isEqualTo(200);
      assertThat(api.usage("tracked-0-" + run).minute()).isPositive();
    }
  }
}
