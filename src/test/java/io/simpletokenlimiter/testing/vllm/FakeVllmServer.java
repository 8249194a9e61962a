package io.simpletokenlimiter.testing.vllm;

/**
 * Runs a {@link FakeVllm} on its own, for benchmarks and manual tries: {@code FakeVllmServer
 * [answerTokens]}. Prints the base URL, then serves until the process is stopped.
 */
public final class FakeVllmServer {

  private FakeVllmServer() {}

  public static void main(String[] args) throws InterruptedException {
    FakeVllm fake = FakeVllm.start().recording(false);
    if (args.length > 0) {
      fake.answerTokens(Integer.parseInt(args[0]));
    }
    System.out.println(fake.baseUrl());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
