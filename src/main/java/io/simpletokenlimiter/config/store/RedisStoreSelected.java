package io.simpletokenlimiter.config.store;

import io.simpletokenlimiter.config.TokenLimitProperties.StoreKind;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/** Matches when the {@link StoreSelection} of the environment is {@link StoreKind#REDIS}. */
public class RedisStoreSelected extends SpringBootCondition {

  @Override
  public ConditionOutcome getMatchOutcome(
      ConditionContext context, AnnotatedTypeMetadata metadata) {
    StoreSelection selection =
        StoreSelection.of((ConfigurableEnvironment) context.getEnvironment());
    String message = "limit store " + selection.kindName() + ": " + selection.reason();
    return selection.kind() == StoreKind.REDIS
        ? ConditionOutcome.match(message)
        : ConditionOutcome.noMatch(message);
  }
}
