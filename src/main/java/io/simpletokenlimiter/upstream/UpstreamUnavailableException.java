package io.simpletokenlimiter.upstream;

/**
 * vLLM could not give an answer: down, refusing, too slow, answering 5xx, or the breaker is open.
 * Clients see 503 and are charged nothing.
 */
public class UpstreamUnavailableException extends RuntimeException {

  public UpstreamUnavailableException(String message) {
    super(message);
  }

  public UpstreamUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
