package io.simpletokenlimiter.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;

class HeaderUserIdResolverTest {

  private final HeaderUserIdResolver resolver = new HeaderUserIdResolver();

  @Test
  void readsTheHeader() {
    assertThat(resolver.resolve(withUser("team.a:bob@x-1_2"))).isEqualTo("team.a:bob@x-1_2");
  }

  @Test
  void missingHeaderIsMissing() {
    assertThatThrownBy(() -> resolver.resolve(MockServerHttpRequest.get("/").build()))
        .isInstanceOfSatisfying(
            UnidentifiedUserException.class,
            e -> assertThat(e.reason()).isEqualTo(UnidentifiedUserException.Reason.MISSING));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "\t"})
  void blankHeaderIsMissing(String value) {
    assertThatThrownBy(() -> resolver.resolve(withUser(value)))
        .isInstanceOfSatisfying(
            UnidentifiedUserException.class,
            e -> assertThat(e.reason()).isEqualTo(UnidentifiedUserException.Reason.MISSING));
  }

  @ParameterizedTest
  @ValueSource(strings = {" bob", "bob ", "a\nb", "{x}", "redis:{tag}", "é"})
  void otherCharactersAreInvalid(String value) {
    assertThatThrownBy(() -> resolver.resolve(withUser(value)))
        .isInstanceOfSatisfying(
            UnidentifiedUserException.class,
            e -> assertThat(e.reason()).isEqualTo(UnidentifiedUserException.Reason.INVALID));
  }

  @Test
  void lengthIsOneTo128() {
    assertThat(resolver.resolve(withUser("a".repeat(128)))).hasSize(128);
    assertThatThrownBy(() -> resolver.resolve(withUser("a".repeat(129))))
        .isInstanceOf(UnidentifiedUserException.class);
  }

  private static MockServerHttpRequest withUser(String value) {
    return MockServerHttpRequest.get("/").header(HeaderUserIdResolver.HEADER, value).build();
  }
}
