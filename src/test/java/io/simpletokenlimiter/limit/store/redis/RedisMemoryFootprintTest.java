package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.RespConnection;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * What one active user costs in Redis ({@code MEMORY USAGE} of their keys) after a day of traffic,
 * as reported in docs/redis-store.md. The bound guards against a layout change that would blow it
 * up; the printed numbers are the measurement.
 */
@Timeout(120)
class RedisMemoryFootprintTest {

  private static final long T0 = 1_800_000_000_000L;
  private static final Limits UNLIMITED =
      new Limits(Limits.UNLIMITED, Limits.UNLIMITED, Limits.UNLIMITED, 10);

  @Test
  void aHeavyUserAfterADayOfTrafficCostsAFewKilobytes() {
    RedisServerProcess server = SharedRedis.standalone();
    LettuceConnectionFactory connections = RedisConnections.standalone(server);
    try {
      RedisLimitStore store = new RedisLimitStore(connections);
      String steady = "steady-" + UUID.randomUUID();
      String heavy = "heavy-" + UUID.randomUUID();
      // steady: a request a minute for a day; heavy: that plus a request every second of the
      // last minute; both end with two requests in flight.
      traffic(store, steady, 24 * 60, 60_000);
      traffic(store, heavy, 24 * 60, 60_000);
      traffic(store, heavy, 60, 1_000);
      for (String user : new String[] {steady, heavy}) {
        long now = T0 + 24 * 3_600_000L;
        store.admit(command(user, "open-1", now)).block(Duration.ofSeconds(5));
        store.admit(command(user, "open-2", now)).block(Duration.ofSeconds(5));
      }

      String light = "light-" + UUID.randomUUID();
      traffic(store, light, 1, 1_000);

      long steadyBytes = report(server, steady);
      long heavyBytes = report(server, heavy);
      long lightBytes = report(server, light);

      assertThat(steadyBytes).isLessThan(4_500);
      // 7.0's listpack of 221 fields (the month's among them) allocates 6,248 B
      assertThat(heavyBytes).isLessThan(6_500);
      assertThat(lightBytes).isLessThan(400);
    } finally {
      connections.destroy();
    }
  }

  private static void traffic(RedisLimitStore store, String user, int requests, long every) {
    long start = T0 + 24 * 3_600_000L - requests * every;
    for (int i = 0; i < requests; i++) {
      long now = start + i * every;
      Admitted admitted =
          (Admitted) store.admit(command(user, "lease-" + i, now)).block(Duration.ofSeconds(5));
      store.settle(user, admitted.leaseId(), 180, now + 500).block(Duration.ofSeconds(5));
    }
  }

  private static AdmitCommand command(String user, String lease, long now) {
    return new AdmitCommand(
        user,
        lease + "-" + UUID.randomUUID(),
        ReservationRequest.fixed(50, 1, 150),
        UNLIMITED,
        now,
        30_000);
  }

  private static long report(RedisServerProcess server, String user) {
    long total = 0;
    StringBuilder line = new StringBuilder("redis " + server.version() + " " + user + ":");
    try (RespConnection connection = server.connect()) {
      for (String key : List.of(RedisLimitStore.key(user))) {
        long bytes = connection.callLong("MEMORY", "USAGE", key, "SAMPLES", "0");
        String encoding = connection.callString("OBJECT", "ENCODING", key);
        long fields = connection.callLong("HLEN", key);
        line.append(' ')
            .append(key)
            .append('=')
            .append(bytes)
            .append("B/")
            .append(fields)
            .append(" fields/")
            .append(encoding);
        total += bytes;
      }
    }
    System.out.println(line.append(" total=").append(total).append('B'));
    return total;
  }
}
