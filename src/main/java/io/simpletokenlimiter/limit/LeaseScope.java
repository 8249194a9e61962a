package io.simpletokenlimiter.limit;

/**
 * What a lease lives for, such as one HTTP exchange: the lease is renewed while its scope is open,
 * and when the scope closes before the lease was settled, the lease is abandoned (charged what its
 * request is known to have cost at that moment).
 */
public interface LeaseScope {

  /** A scope that never closes: the caller settles every lease itself. */
  LeaseScope UNBOUNDED =
      new LeaseScope() {
        @Override
        public boolean isOpen() {
          return true;
        }

        @Override
        public void onClose(Runnable action) {}
      };

  boolean isOpen();

  /** Runs {@code action} once when the scope closes; at once if it is closed already. */
  void onClose(Runnable action);

  /**
   * Runs what follows the store's answer for this scope's request on the request's own thread,
   * wherever the answer arrived; at once by default. A Redis reply arrives on Lettuce's one I/O
   * thread, which must not carry a request further (rewriting its body, forwarding it) while the
   * replies of every other request wait behind it.
   */
  default void resume(Runnable continuation) {
    continuation.run();
  }
}
