package io.simpletokenlimiter.limit;

import java.util.Optional;

/** A user whom configuration moved from one team (or none) to another (or none). */
public record TeamMove(String userId, Optional<String> from, Optional<String> to) {}
