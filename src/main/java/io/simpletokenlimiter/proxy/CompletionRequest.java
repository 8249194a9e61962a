package io.simpletokenlimiter.proxy;

import java.util.Optional;
import java.util.OptionalInt;
import tools.jackson.databind.node.ObjectNode;

/**
 * A validated generation request: the body as the client sent it, plus the fields the limiter
 * reads.
 *
 * @param model the model the client named, empty for the default
 * @param maxTokens the completion budget per choice the client asked for, when given: on chat
 *     {@code max_completion_tokens} or else {@code max_tokens}; on completions {@code max_tokens}
 * @param choices sequences generated per prompt: the larger of {@code n} and {@code best_of}
 * @param clientWantsUsage the client itself asked for {@code stream_options.include_usage}
 * @param clientWantsContinuousUsage the client itself asked for {@code continuous_usage_stats}
 */
public record CompletionRequest(
    Endpoint endpoint,
    ObjectNode body,
    Optional<String> model,
    OptionalInt maxTokens,
    int choices,
    boolean stream,
    boolean clientWantsUsage,
    boolean clientWantsContinuousUsage) {}
