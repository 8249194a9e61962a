package io.simpletokenlimiter.limit;

import java.util.Optional;
import reactor.core.publisher.Mono;

/**
 * Per-user limits set at run time through the admin API, over the configuration. {@link #get} is
 * answered from this replica's view, on every admission; writes go to the shared place (Redis with
 * the Redis store) and every replica's view follows within its refresh interval.
 */
public interface RuntimeLimits {

  /** No run-time limits, for a resolver of the configuration alone. */
  RuntimeLimits NONE =
      new RuntimeLimits() {
        @Override
        public Optional<LimitOverride> get(String userId) {
          return Optional.empty();
        }

        @Override
        public Mono<Void> put(String userId, LimitOverride override) {
          return Mono.error(new UnsupportedOperationException("no run-time limits here"));
        }

        @Override
        public Mono<Boolean> remove(String userId) {
          return Mono.just(false);
        }

        @Override
        public Mono<Void> refresh() {
          return Mono.empty();
        }
      };

  /** The user's run-time limits as this replica sees them now. */
  Optional<LimitOverride> get(String userId);

  /** Sets (replaces) the user's run-time limits; this replica sees them at once. */
  Mono<Void> put(String userId, LimitOverride override);

  /** Removes the user's run-time limits; true if there were any. */
  Mono<Boolean> remove(String userId);

  /** Brings this replica's view up to date with the shared place. */
  Mono<Void> refresh();
}
