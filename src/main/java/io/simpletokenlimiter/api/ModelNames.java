package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

/** The model names clients may use: the public one and the one vLLM serves. */
@Component
public class ModelNames {

  private final String publicName;
  private final String upstreamName;

  public ModelNames(TokenLimitProperties.Model model) {
    this.publicName = model.publicName();
    this.upstreamName = model.upstreamName();
  }

  /** Fails with 404 {@code model_not_found} for any other name. */
  public void requireKnown(String name) {
    if (!name.equals(publicName) && !name.equals(upstreamName)) {
      throw new ApiException(
          HttpStatus.NOT_FOUND, "model_not_found", "The model `" + name + "` does not exist.");
    }
  }
}
