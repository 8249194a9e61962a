package io.simpletokenlimiter.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class EventLoopThreadsTest {

  @Test
  void oneLoopPerCoreUnlessTheOperatorChose() {
    Properties unset = new Properties();
    EventLoopThreads.onePerCore(unset, 2);
    assertThat(unset.getProperty("reactor.netty.ioWorkerCount")).isEqualTo("2");

    Properties chosen = new Properties();
    chosen.setProperty("reactor.netty.ioWorkerCount", "8");
    EventLoopThreads.onePerCore(chosen, 2);
    assertThat(chosen.getProperty("reactor.netty.ioWorkerCount")).isEqualTo("8");
  }

  @Test
  void atLeastOneLoop() {
    Properties unset = new Properties();
    EventLoopThreads.onePerCore(unset, 0);
    assertThat(unset.getProperty("reactor.netty.ioWorkerCount")).isEqualTo("1");
  }
}
