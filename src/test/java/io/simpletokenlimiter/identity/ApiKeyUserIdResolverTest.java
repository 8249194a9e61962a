package io.simpletokenlimiter.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;

class ApiKeyUserIdResolverTest {

  /** SHA-256 of "test", as {@code printf %s test | sha256sum} prints it. */
  private static final String TEST_HASH =
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

  private final ApiKeyUserIdResolver resolver =
      new ApiKeyUserIdResolver(Map.of(TEST_HASH, "alice"));

  @TempDir Path dir;

  @Test
  void theKeyNamesTheUserAndXUserIdIsIgnored() {
    MockServerHttpRequest request =
        MockServerHttpRequest.get("/")
            .header("Authorization", "Bearer test")
            .header("X-User-ID", "mallory")
            .build();

    assertThat(resolver.resolve(request)).isEqualTo("alice");
    assertThat(resolver.authenticates()).isTrue();
  }

  @Test
  void aMissingOrUnknownKeyIsRefused() {
    assertThatThrownBy(() -> resolver.resolve(MockServerHttpRequest.get("/").build()))
        .isInstanceOfSatisfying(
            UnidentifiedUserException.class,
            e ->
                assertThat(e.reason()).isEqualTo(UnidentifiedUserException.Reason.MISSING_API_KEY));
    assertThatThrownBy(
            () ->
                resolver.resolve(
                    MockServerHttpRequest.get("/").header("Authorization", "Bearer ").build()))
        .isInstanceOfSatisfying(
            UnidentifiedUserException.class,
            e ->
                assertThat(e.reason()).isEqualTo(UnidentifiedUserException.Reason.MISSING_API_KEY));
    assertThatThrownBy(
            () ->
                resolver.resolve(
                    MockServerHttpRequest.get("/").header("Authorization", "Bearer tesT").build()))
        .isInstanceOfSatisfying(
            UnidentifiedUserException.class,
            e ->
                assertThat(e.reason()).isEqualTo(UnidentifiedUserException.Reason.INVALID_API_KEY));
  }

  @Test
  void keysAreStoredAsTheHexSha256ThatSha256sumPrints() {
    assertThat(ApiKeyUserIdResolver.hash("test")).isEqualTo(TEST_HASH);
  }

  @Test
  void loadsHashedKeysFromAFile() throws IOException {
    Path file = dir.resolve("keys.yml");
    Files.writeString(file, "keys:\n  " + TEST_HASH.toUpperCase() + ": bob\n");

    ApiKeyUserIdResolver fromFile = ApiKeyUserIdResolver.fromFile(file);

    assertThat(
            fromFile.resolve(
                MockServerHttpRequest.get("/").header("Authorization", "Bearer test").build()))
        .isEqualTo("bob");
  }

  @Test
  void aKeyMarkedAdminNamesItsUserAndMayUseTheAdminApi() throws IOException {
    Path file = dir.resolve("keys.yml");
    String opsHash = ApiKeyUserIdResolver.hash("ops-key");
    Files.writeString(
        file, "keys:\n  %s: bob\n  %s: {user: ops, admin: true}\n".formatted(TEST_HASH, opsHash));

    ApiKeyUserIdResolver fromFile = ApiKeyUserIdResolver.fromFile(file);

    var ops = MockServerHttpRequest.get("/").header("Authorization", "Bearer ops-key").build();
    var bob = MockServerHttpRequest.get("/").header("Authorization", "Bearer test").build();
    assertThat(fromFile.resolve(ops)).isEqualTo("ops");
    assertThat(fromFile.isAdminKey(ops)).isTrue();
    assertThat(fromFile.isAdminKey(bob)).isFalse();
    assertThat(fromFile.isAdminKey(MockServerHttpRequest.get("/").build())).isFalse();
  }

  @Test
  void aKeyMayNameItsUsersTeam() throws IOException {
    Path file = dir.resolve("keys.yml");
    String carolHash = ApiKeyUserIdResolver.hash("carol-key");
    Files.writeString(
        file,
        "keys:\n  %s: bob\n  %s: {user: carol, team: research}\n".formatted(TEST_HASH, carolHash));

    assertThat(ApiKeyUserIdResolver.teamsIn(file)).isEqualTo(Map.of("carol", "research"));

    String otherHash = ApiKeyUserIdResolver.hash("carol-other-key");
    Files.writeString(
        file,
        "keys:\n  %s: {user: carol, team: research}\n  %s: {user: carol, team: sales}\n"
            .formatted(carolHash, otherHash));
    assertThatThrownBy(() -> ApiKeyUserIdResolver.teamsIn(file))
        .hasMessageContaining("user carol is in team");
  }

  @Test
  void anAdminEntryMustBeWellFormed() throws IOException {
    Path file = dir.resolve("keys.yml");

    Files.writeString(file, "keys:\n  " + TEST_HASH + ": {user: ops, admin: yes-please}\n");
    assertThatThrownBy(() -> ApiKeyUserIdResolver.fromFile(file))
        .hasMessageContaining("'admin' of key 9f86d081... must be true or false");

    Files.writeString(file, "keys:\n  " + TEST_HASH + ": {user: ops, role: admin}\n");
    assertThatThrownBy(() -> ApiKeyUserIdResolver.fromFile(file))
        .hasMessageContaining("may have only 'user', 'admin' and 'team'");

    Files.writeString(file, "keys:\n  " + TEST_HASH + ": {admin: true}\n");
    assertThatThrownBy(() -> ApiKeyUserIdResolver.fromFile(file))
        .hasMessageContaining("must be 1 to 128 characters");
  }

  @Test
  void aMalformedFileStopsStartUpNamingTheSetting() throws IOException {
    Path file = dir.resolve("keys.yml");

    Files.writeString(file, "keys:\n  not-a-hash: bob\n");
    assertThatThrownBy(() -> ApiKeyUserIdResolver.fromFile(file))
        .hasMessageContaining("token.limit.api-keys-file")
        .hasMessageContaining("not the hex SHA-256");

    Files.writeString(file, "keys:\n  " + TEST_HASH + ": 'bad user'\n");
    assertThatThrownBy(() -> ApiKeyUserIdResolver.fromFile(file))
        .hasMessageContaining("must be 1 to 128 characters");

    Files.writeString(file, "users: {}\n");
    assertThatThrownBy(() -> ApiKeyUserIdResolver.fromFile(file))
        .hasMessageContaining("expected a mapping 'keys'");

    assertThatThrownBy(() -> ApiKeyUserIdResolver.fromFile(dir.resolve("missing.yml")))
        .hasMessageContaining("missing.yml");
  }
}
