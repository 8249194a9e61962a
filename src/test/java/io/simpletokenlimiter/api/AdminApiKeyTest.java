package io.simpletokenlimiter.api;

import io.simpletokenlimiter.identity.ApiKeyUserIdResolver;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/** The admin API in API-key mode: a key marked admin may use it, any other key is refused. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(30)
class AdminApiKeyTest {

  static final FakeVllm VLLM = FakeVllm.start();
  static final String USER_KEY = "alice-key";
  static final String ADMIN_KEY = "ops-key";

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    registry.add("token.limit.api-keys-file", AdminApiKeyTest::keysFile);
  }

  private static String keysFile() {
    try {
      Path file = Files.createTempFile("api-keys", ".yml");
      Files.writeString(
          file,
          "keys:\n  %s: alice\n  %s: {user: ops, admin: true}\n"
              .formatted(
                  ApiKeyUserIdResolver.hash(USER_KEY), ApiKeyUserIdResolver.hash(ADMIN_KEY)));
      file.toFile().deleteOnExit();
      return file.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @LocalServerPort int port;
  WebTestClient client;

  @BeforeEach
  void setUp() {
    client = LocalClient.to(port);
  }

  @Test
  void anAdminKeyMayUseTheAdminApi() {
    client
        .get()
        .uri("/api/v1/admin/usage?window=hour")
        .header("Authorization", "Bearer " + ADMIN_KEY)
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.window")
        .isEqualTo("hour");
    client
        .put()
        .uri("/api/v1/admin/limits/alice")
        .header("Authorization", "Bearer " + ADMIN_KEY)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue("{\"max-concurrent-requests\": 2}")
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.limits.max-concurrent-requests.source")
        .isEqualTo("runtime");
    client
        .delete()
        .uri("/api/v1/admin/limits/alice")
        .header("Authorization", "Bearer " + ADMIN_KEY)
        .exchange()
        .expectStatus()
        .isOk();
  }

  @Test
  void anAdminKeyReadsAnyUsersUsage() {
    client
        .get()
        .uri("/api/v1/usage/alice")
        .header("Authorization", "Bearer " + ADMIN_KEY)
        .exchange()
        .expectStatus()
        .isOk();
  }

  @Test
  void aKeyWithoutTheAdminMarkIs403() {
    client
        .get()
        .uri("/api/v1/admin/usage")
        .header("Authorization", "Bearer " + USER_KEY)
        .exchange()
        .expectStatus()
        .isForbidden()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("forbidden");
    client
        .delete()
        .uri("/api/v1/admin/usage/alice")
        .header("Authorization", "Bearer " + USER_KEY)
        .exchange()
        .expectStatus()
        .isForbidden();
  }

  @Test
  void noKeyOrAnUnknownKeyIs401() {
    client
        .get()
        .uri("/api/v1/admin/limits/alice")
        .exchange()
        .expectStatus()
        .isUnauthorized()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("unauthorized");
    client
        .get()
        .uri("/api/v1/admin/limits/alice")
        .header("Authorization", "Bearer nobody-s-key")
        .exchange()
        .expectStatus()
        .isUnauthorized();
  }
}
