package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Admission.Rejected;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TokenWeights;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.Ledgers;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.RedisServerExtension;
import io.simpletokenlimiter.testing.redis.RespConnection;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/**
 * How many commands Redis executes for one request (admit, then settle), scripts' own commands
 * included, measured with {@code INFO commandstats} on a redis-server of this test's own.
 */
@Timeout(60)
class RedisCommandsPerRequestTest {

  @RegisterExtension static final RedisServerExtension REDIS = new RedisServerExtension();

  private static final long T0 = 1_800_000_000_000L;
  private static final Duration BLOCK = Duration.ofSeconds(10);
  private static final Limits LIMITS = new Limits(100_000, 1_000_000, 10_000_000, 10);

  private LettuceConnectionFactory connections;
  private RedisLimitStore store;

  @BeforeEach
  void connect() {
    connections = RedisConnections.standalone(REDIS.server());
    // The usage index is sent on its own period, not by requests: measured apart below.
    store =
        new RedisLimitStore(
            new ReactiveStringRedisTemplate(connections),
            RetryHints.SHORT_RETRY_MILLIS,
            Duration.ofHours(1));
  }

  @AfterEach
  void disconnect() {
    connections.destroy();
  }

  @Test
  void anAdmissionAndItsSettlementExecuteAtMostEightCommands() {
    String user = "user-" + UUID.randomUUID();
    // Some history: a request every 20 s for an hour, and one request still in flight.
    long now = T0;
    for (int i = 0; i < 180; i++, now += 20_000) {
      request(store, user, now);
    }
    store.admit(command(user, now)).block(BLOCK);
    store.flushUsageIndex().block(BLOCK);
    long later = now + 1_000;

    Map<String, Long> calls = commandsOf(() -> request(store, user, later));
    long total = total(calls);
    System.out.println("redis commands for admit + settle: " + total + " " + calls);

    assertThat(total).isLessThanOrEqualTo(8);
    assertThat(calls.get("evalsha")).isEqualTo(2);
    // the scripts read the summaries and a few buckets, never the user's whole hash
    assertThat(calls).doesNotContainKey("hgetall");

    // The admin API's usage index: one script a second per replica, whatever the load, with
    // three commands per user active in that second and three per window.
    Map<String, Long> flush = commandsOf(() -> store.flushUsageIndex().block(BLOCK));
    assertThat(flush.get("evalsha")).isEqualTo(1);
    assertThat(total(flush)).isEqualTo(1 + 3 + 6);
  }

  /**
   * A busy user (a request every 20 ms for two minutes): each admission reads its few fields and
   * writes the lease, each settlement reads, writes and deletes the lease: 3 + 4, with the odd
   * PEXPIRE.
   */
  @Test
  void aBusyUsersRequestsExecuteSevenCommandsEach() {
    String user = "user-" + UUID.randomUUID();
    long start = T0;
    for (int i = 0; i < 6_000; i++) {
      busyRequest(store, user, start + i * 20L);
    }
    int requests = 500;

    Map<String, Long> calls =
        commandsOf(
            () -> {
              for (int i = 6_000; i < 6_000 + requests; i++) {
                busyRequest(store, user, start + i * 20L);
              }
            });
    System.out.println("redis commands for " + requests + " busy requests: " + calls);

    assertThat(calls).doesNotContainKey("hgetall");
    assertThat(calls.get("evalsha")).isEqualTo(2L * requests);
    assertThat(total(calls)).isLessThanOrEqualTo(7L * requests + 2);
  }

  /**
   * A user who spent the minute and keeps asking (a hostile client ignoring retry_after): each
   * rejection reads the edges, then the minute's buckets for the retry hint, and writes nothing.
   */
  @Test
  void aRejectionByAWindowReadsOnlyThatWindowAndWritesNothing() {
    String user = "user-" + UUID.randomUUID();
    Limits minute = new Limits(1_000, 1_000_000, 10_000_000, 10);
    long start = T0;
    for (int i = 0; i < 300; i++) {
      busyRequest(store, user, start + i * 200L);
    }
    long later = start + 300 * 200L;
    AdmitCommand overTheMinute = command(user, later, minute);

    Map<String, Long> calls =
        commandsOf(
            () -> assertThat(store.admit(overTheMinute).block(BLOCK)).isInstanceOf(Rejected.class));
    System.out.println("redis commands for a rejection by the minute: " + calls);

    assertThat(calls).isEqualTo(Map.of("evalsha", 1L, "hmget", 2L));
  }

  /**
   * A team member's request reads and writes the team's hash too, in the same scripts: one more
   * HMGET and HSET each, one more HDEL in the settle, and the team hash's own PEXPIRE (about once
   * an hour, due at the moment measured here, as the user's is). A request 20 s after the last one
   * reads the buckets that left the minute meanwhile with one more HMGET per hash: 8 + 8.
   */
  @Test
  void aTeamMembersAdmissionAndSettlementExecuteAtMostSixteenCommands() {
    Team team = new Team("team-" + UUID.randomUUID(), LIMITS);
    String member = Ledgers.member(team.name(), "alice");
    long now = T0;
    for (int i = 0; i < 180; i++, now += 20_000) {
      teamRequest(store, member, team, now);
    }
    store.flushUsageIndex().block(BLOCK);
    long later = now + 1_000;

    Map<String, Long> calls = commandsOf(() -> teamRequest(store, member, team, later));
    long total = total(calls);
    System.out.println("redis commands for a team member's admit + settle: " + total + " " + calls);

    assertThat(total).isLessThanOrEqualTo(16);
    assertThat(calls).doesNotContainKey("hgetall");
    assertThat(calls.get("evalsha")).isEqualTo(2);
  }

  /** The commands Redis executed while {@code work} ran. */
  private static Map<String, Long> commandsOf(Runnable work) {
    try (RespConnection connection = REDIS.server().connect()) {
      connection.call("CONFIG", "RESETSTAT");
      work.run();
      return commandCalls(connection.callString("INFO", "commandstats"));
    }
  }

  private static long total(Map<String, Long> calls) {
    return calls.values().stream().mapToLong(Long::longValue).sum();
  }

  private static void teamRequest(RedisLimitStore store, String member, Team team, long now) {
    AdmitCommand command =
        new AdmitCommand(
            member,
            UUID.randomUUID().toString(),
            ReservationRequest.fixed(50, 1, 150),
            LIMITS,
            now,
            30_000,
            TokenWeights.ONE,
            Optional.of(team));
    Admitted admitted = (Admitted) store.admit(command).block(BLOCK);
    store.settle(member, admitted.leaseId(), 120, now + 500).block(BLOCK);
  }

  private static void request(RedisLimitStore store, String user, long now) {
    Admitted admitted = (Admitted) store.admit(command(user, now)).block(BLOCK);
    store.settle(user, admitted.leaseId(), 120, now + 500).block(BLOCK);
  }

  /** Served in 10 ms, within limits that a request every 20 ms never reaches. */
  private static void busyRequest(RedisLimitStore store, String user, long now) {
    Limits roomy = new Limits(100_000_000, 1_000_000_000, 10_000_000_000L, 10);
    Admitted admitted = (Admitted) store.admit(command(user, now, roomy)).block(BLOCK);
    store.settle(user, admitted.leaseId(), 120, now + 10).block(BLOCK);
  }

  private static AdmitCommand command(String user, long now) {
    return command(user, now, LIMITS);
  }

  private static AdmitCommand command(String user, long now, Limits limits) {
    return new AdmitCommand(
        user,
        UUID.randomUUID().toString(),
        ReservationRequest.fixed(50, 1, 150),
        limits,
        now,
        30_000);
  }

  /** {@code cmdstat_<name>:calls=N,...} lines, without the commands this test sent itself. */
  private static Map<String, Long> commandCalls(String info) {
    Map<String, Long> calls = new TreeMap<>();
    info.lines()
        .filter(line -> line.startsWith("cmdstat_"))
        .forEach(
            line -> {
              String name = line.substring("cmdstat_".length(), line.indexOf(':'));
              String count = line.substring(line.indexOf("calls=") + 6);
              count = count.substring(0, count.indexOf(','));
              if (!name.equals("info") && !name.startsWith("config")) {
                calls.put(name, Long.parseLong(count));
              }
            });
    return calls;
  }
}
