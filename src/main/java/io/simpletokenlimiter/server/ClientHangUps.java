package io.simpletokenlimiter.server;

import jakarta.annotation.PostConstruct;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.util.DisconnectedClientHelper;
import reactor.core.publisher.Hooks;

/**
 * A client that hangs up (mid-body, mid-answer, by reset) is routine, not a server error. The error
 * handler answers such requests with nothing; this hook quietens the errors Reactor drops after the
 * request has already ended (a reset seen by the body reader after the handler gave up), which
 * Reactor would otherwise log at ERROR with a stack trace. Every other dropped error is still
 * logged at ERROR.
 */
@Component
public class ClientHangUps {

  private static final Logger log = LoggerFactory.getLogger(ClientHangUps.class);

  @PostConstruct
  void quietenDroppedHangUps() {
    Hooks.onErrorDropped(ClientHangUps::dropped);
  }

  static void dropped(Throwable error) {
    if (DisconnectedClientHelper.isClientDisconnectedException(error)) {
      log.debug("Client went away: {}", error.toString());
    } else {
      log.error("Operator called default onErrorDropped", error);
    }
  }
}
