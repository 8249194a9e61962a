package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission.Admitted;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.RespConnection;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RedisLimitStoreStandaloneTest extends RedisLimitStoreScenarios {

  static RedisServerProcess server;

  @BeforeAll
  static void connect() {
    server = SharedRedis.standalone();
    connections = RedisConnections.standalone(server);
  }

  @Override
  Object call(String key, Object... command) {
    try (RespConnection connection = server.connect()) {
      return connection.call(command);
    }
  }

  @Test
  void scriptsAreSentAgainAfterRedisForgetsThem() {
    admitted(ReservationRequest.fixed(0, 1, 100), T0);
    try (RespConnection connection = server.connect()) {
      connection.call("SCRIPT", "FLUSH");
    }

    Admitted again = admitted(ReservationRequest.fixed(0, 1, 100), T0);

    assertThat(again.quota().inFlight()).isEqualTo(2);
  }
}
