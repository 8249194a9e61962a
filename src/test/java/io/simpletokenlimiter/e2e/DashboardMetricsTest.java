package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.e2e.ApiClient.Answer;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;

/**
 * Every metric that the Grafana dashboard ({@code deploy/grafana/dashboards/}) and the alert rules
 * ({@code deploy/prometheus/alerts.yml}) query is one the service really exports. One replica runs
 * as an operator would try it: the demo upstream and the Redis store (whose breaker, error and
 * fallback series exist only with Redis); a few answers, a stream, a 429 and a Redis outage make
 * the counters exist; then {@code /actuator/prometheus} is scraped and every name in every PromQL
 * expression is looked up.
 */
@Timeout(120)
class DashboardMetricsTest {

  /** Series that Prometheus makes itself, not the service. */
  private static final Map<String, String> NOT_FROM_THE_SERVICE =
      Map.of("up", "Prometheus's own per-target series (the scrape succeeded)");

  private static final Path DASHBOARDS = Path.of("deploy/grafana/dashboards");
  private static final Path ALERTS = Path.of("deploy/prometheus/alerts.yml");

  private static RedisServerProcess redis;
  private static LimiterInstance replica;

  @BeforeAll
  static void start() {
    redis = RedisServerProcess.start();
    replica =
        LimiterInstance.start(
            Map.of(
                "spring.profiles.active", "demo",
                "token.limit.demo.first-token-delay", "0ms",
                "token.limit.demo.token-delay", "1ms",
                "REDIS_HOST", redis.host(),
                "REDIS_PORT", Integer.toString(redis.port()),
                "token.limit.redis.command-timeout", "3s",
                "token.limit.max-tokens-per-minute", "400"));
  }

  @AfterAll
  static void stop() {
    replica.close();
    redis.close();
  }

  @Test
  void everyQueriedMetricIsExported() throws IOException {
    Set<String> exported = exportedAfterSomeTraffic();

    Map<String, Set<String>> queried = new TreeMap<>();
    try (var files = Files.list(DASHBOARDS)) {
      for (Path dashboard : files.filter(f -> f.toString().endsWith(".json")).toList()) {
        List<String> expressions = new ArrayList<>();
        collectExpressions(ApiClient.JSON.readTree(Files.readString(dashboard)), expressions);
        assertThat(expressions).as("queries of %s", dashboard).hasSizeGreaterThan(10);
        expressions.forEach(expr -> queried.put(dashboard + ": " + expr, metricNames(expr)));
      }
    }
    List<String> rules = alertExpressions();
    assertThat(rules).isNotEmpty();
    rules.forEach(expr -> queried.put(ALERTS + ": " + expr, metricNames(expr)));

    Map<String, Set<String>> missing = new TreeMap<>();
    queried.forEach(
        (where, names) -> {
          Set<String> unknown =
              names.stream()
                  .filter(name -> !exported.contains(name))
                  .filter(name -> !NOT_FROM_THE_SERVICE.containsKey(name))
                  .collect(Collectors.toCollection(TreeSet::new));
          if (!unknown.isEmpty()) {
            missing.put(where, unknown);
          }
        });
    assertThat(missing).as("metrics queried but not exported").isEmpty();
    assertThat(queried.values().stream().flatMap(Set::stream))
        .contains(
            "token_usage_total",
            "rate_limit_exceeded_total",
            "concurrent_requests_current",
            "limiter_decision_seconds_bucket",
            "upstream_request_duration_seconds_bucket",
            "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
            "limiter_degraded_decisions_total",
            "limiter_redis_breaker_state",
            "resilience4j_circuitbreaker_state");
  }

  @Test
  void theExtractorFindsMetricsAndSkipsFunctionsLabelsAndVariables() {
    assertThat(
            metricNames(
                "histogram_quantile(0.99, sum by (le, instance) (rate(limiter_decision_seconds_bucket"
                    + "{job=~\"$job\", outcome!=\"rejected\"}[$__rate_interval]))) > 1e3"
                    + " and on(instance) up == 1 or vector(0) unless absent(x_total offset 5m)"))
        .containsExactlyInAnyOrder("limiter_decision_seconds_bucket", "up", "x_total");
  }

  private static Set<String> exportedAfterSomeTraffic() {
    ApiClient api = replica.api();
    String user = "dashboard-" + UUID.randomUUID();
    Answer first = api.chat(user, ChatRequest.of(20, user + "#0").json()).block();
    assertThat(first.status()).isEqualTo(200);
    Answer stream = api.chat(user, ChatRequest.of(20, user + "#1").streamed().json()).block();
    assertThat(stream.body()).contains("[DONE]");
    int status = 200;
    for (int i = 2; i < 30 && status == 200; i++) {
      status = api.chat(user, ChatRequest.of(100, user + "#" + i).json()).block().status();
    }
    assertThat(status).isEqualTo(429);
    api.usage(user);
    // Redis goes away: the errors counter exists from the first failed call, and the fallback
    // to this replica's memory admits the next request.
    redis.close();
    String other = "dashboard-outage-" + UUID.randomUUID();
    assertThat(api.chat(other, ChatRequest.of(10, other).json()).block().status()).isEqualTo(200);
    String scrape = api.get("/actuator/prometheus");
    return Arrays.stream(scrape.split("\n"))
        .filter(line -> !line.isBlank() && !line.startsWith("#"))
        .map(line -> line.split("[{ ]", 2)[0])
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** Every PromQL expression of a Grafana dashboard: targets' {@code expr}, variables' queries. */
  private static void collectExpressions(JsonNode node, List<String> into) {
    if (node.isObject()) {
      JsonNode expr = node.get("expr");
      if (expr != null && expr.isString() && !expr.stringValue().isBlank()) {
        into.add(expr.stringValue());
      }
      JsonNode query = node.get("query");
      if (node.path("type").stringValue("").equals("query") && query != null) {
        into.add(query.isString() ? query.stringValue() : query.path("query").stringValue(""));
      }
      node.values().forEach(child -> collectExpressions(child, into));
    } else if (node.isArray()) {
      node.values().forEach(child -> collectExpressions(child, into));
    }
  }

  @SuppressWarnings("unchecked")
  private static List<String> alertExpressions() throws IOException {
    Map<String, Object> file = new Yaml().load(Files.readString(ALERTS));
    List<String> expressions = new ArrayList<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) file.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        expressions.add(String.valueOf(rule.get("expr")));
      }
    }
    return expressions;
  }

  private static final Pattern STRINGS =
      Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'[^']*'|`[^`]*`");
  private static final Pattern LABEL_LISTS =
      Pattern.compile(
          "\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", Pattern.DOTALL);
  private static final Pattern SELECTORS = Pattern.compile("\\{[^}]*}|\\[[^]]*]");
  private static final Pattern IDENTIFIER =
      Pattern.compile("(?<![\\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?");
  private static final Set<String> KEYWORDS =
      Set.of(
          "and",
          "or",
          "unless",
          "bool",
          "offset",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "inf",
          "nan",
          "label_values",
          "query_result");

  /** The metric names a PromQL expression reads: identifiers that are not functions or keywords. */
  static Set<String> metricNames(String expression) {
    String bare = STRINGS.matcher(expression).replaceAll("\"\"");
    bare = SELECTORS.matcher(bare).replaceAll(" ");
    bare = LABEL_LISTS.matcher(bare).replaceAll(" ");
    bare = bare.replaceAll("\\$\\{?\\w+}?", " ");
    Set<String> names = new TreeSet<>();
    Matcher matcher = IDENTIFIER.matcher(bare);
    while (matcher.find()) {
      boolean function = matcher.group(2) != null;
      String name = matcher.group(1);
      if (!function && !KEYWORDS.contains(name.toLowerCase(java.util.Locale.ROOT))) {
        names.add(name);
      }
    }
    return names;
  }
}
