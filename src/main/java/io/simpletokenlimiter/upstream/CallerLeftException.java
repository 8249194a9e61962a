package io.simpletokenlimiter.upstream;

import reactor.netty.channel.AbortedException;

/**
 * A request not sent to vLLM because its client had already left. It says nothing about vLLM (the
 * circuit breaker and the call metrics leave it out), and its cause marks it as a client hang-up,
 * which is answered with nothing and not logged as an error.
 */
public final class CallerLeftException extends RuntimeException {

  CallerLeftException() {
    super(
        "the client left before its request went to vLLM",
        new AbortedException("the client left"),
        false,
        false);
  }
}
