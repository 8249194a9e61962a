package io.simpletokenlimiter.bench;

import io.simpletokenlimiter.tokens.ExactTokenCounter;
import io.simpletokenlimiter.tokens.Llama3Tokenizer;
import io.simpletokenlimiter.tokens.PromptCount;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import io.simpletokenlimiter.tokens.Utf8BoundTokenCounter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Speed of prompt counting with the real Llama 3 vocabulary (from {@code -Dllama3.tokenizer.dir},
 * default {@code ../shared/tokenizers/llama3}): throughput of {@code count} and {@code encode} on
 * about 1 MB of text, and the time to count a typical chat of about 500 prompt tokens.
 *
 * <p>Not a test. Run {@link #main} with the test classpath; it prints MB/s at the end.
 */
@State(Scope.Benchmark)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xmx1g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class TokenCountingBenchmark {

  private static final JsonMapper JSON = JsonMapper.shared();
  private static final int LARGE_TEXT_CHARS = 1 << 20;

  private Llama3Tokenizer tokenizer;
  private PromptTokenCounter exact;
  private PromptTokenCounter bound;
  private JsonNode typicalChat;

  @Setup(Level.Trial)
  public void load() {
    tokenizer = Llama3Tokenizer.load(fixture().resolve("tokenizer.json"));
    exact = new ExactTokenCounter(tokenizer);
    bound = new Utf8BoundTokenCounter();
    typicalChat = typicalChat();
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public int countLargeText(Corpus corpus) {
    return tokenizer.count(corpus.text);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public int[] encodeLargeText(Corpus corpus) {
    return tokenizer.encode(corpus.text);
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Warmup(iterations = 5, time = 1)
  @Measurement(iterations = 5, time = 1)
  public PromptCount countTypicalChat() {
    return exact.countChat(typicalChat);
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Warmup(iterations = 5, time = 1)
  @Measurement(iterations = 5, time = 1)
  public PromptCount boundTypicalChat() {
    return bound.countChat(typicalChat);
  }

  /** The large text, in two kinds. */
  @State(Scope.Benchmark)
  public static class Corpus {
    /**
     * {@code mixed}: every line of reference.jsonl (prose, code, Korean, CJK, emoji); {@code
     * english}: the long English prose of chat-reference.jsonl.
     */
    @Param({"mixed", "english"})
    public String kind;

    String text;

    @Setup(Level.Trial)
    public void build() {
      text = largeText(kind);
    }
  }

  /** About 1 MB of text from the fixture's lines, repeated. */
  static String largeText(String corpus) {
    List<String> lines =
        corpus.equals("english")
            ? lines("chat-reference.jsonl")
                .map(l -> l.get("messages"))
                .flatMap(m -> m.valueStream())
                .map(m -> m.get("content").stringValue())
                .filter(c -> c.startsWith("Photosynthesis"))
                .toList()
            : lines("reference.jsonl").map(l -> l.get("text").stringValue()).toList();
    StringBuilder text = new StringBuilder(LARGE_TEXT_CHARS + 10_000);
    while (text.length() < LARGE_TEXT_CHARS) {
      for (String line : lines) {
        text.append(line).append('\n');
      }
    }
    return text.toString();
  }

  /** A system prompt, two user turns and an answer: about 500 prompt tokens. */
  static JsonNode typicalChat() {
    String prose = largeText("english");
    ObjectNode request = JSON.createObjectNode();
    request.put("model", "llama3.2-1b");
    ArrayNode messages = request.putArray("messages");
    messages.addObject().put("role", "system").put("content", "You are a helpful assistant.");
    messages.addObject().put("role", "user").put("content", prose.substring(0, 1_200));
    messages.addObject().put("role", "assistant").put("content", prose.substring(1_200, 1_800));
    messages.addObject().put("role", "user").put("content", prose.substring(1_800, 2_200));
    request.put("max_tokens", 150);
    return request;
  }

  private static Stream<JsonNode> lines(String file) {
    try {
      return Files.readAllLines(fixture().resolve(file)).stream()
          .filter(l -> !l.isBlank())
          .map(JSON::readTree);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path fixture() {
    return Path.of(System.getProperty("llama3.tokenizer.dir", "../shared/tokenizers/llama3"));
  }

  public static void main(String[] args) throws RunnerException {
    var options =
        new OptionsBuilder()
            .include(TokenCountingBenchmark.class.getName())
            .jvmArgsAppend("-Dllama3.tokenizer.dir=" + fixture().toAbsolutePath())
            .build();
    var tokenizer = Llama3Tokenizer.load(fixture().resolve("tokenizer.json"));
    System.out.printf(
        "typical chat: %d prompt tokens%n",
        new ExactTokenCounter(tokenizer).countChat(typicalChat()).totalTokens());
    for (RunResult result : new Runner(options).run()) {
      String benchmark = result.getParams().getBenchmark();
      if (benchmark.endsWith("LargeText")) {
        String corpus = result.getParams().getParam("kind");
        String text = largeText(corpus);
        double megabytes = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
        double perSecond = result.getPrimaryResult().getScore();
        System.out.printf(
            "%s [%s]: %.1f MB/s, %.2f M tokens/s (%.2f MB, %d tokens)%n",
            benchmark.substring(benchmark.lastIndexOf('.') + 1),
            corpus,
            perSecond * megabytes,
            perSecond * tokenizer.count(text) / 1e6,
            megabytes,
            tokenizer.count(text));
      }
    }
  }
}
