package io.simpletokenlimiter.limit;

/** One user's usage, as a list of the heaviest users gives it. */
public record UserUsage(String userId, UsageSnapshot usage) {}
