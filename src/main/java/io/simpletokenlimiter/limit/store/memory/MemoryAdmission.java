package io.simpletokenlimiter.limit.store.memory;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.CalendarMonth;
import io.simpletokenlimiter.limit.LimitScope;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.RetryHints;
import io.simpletokenlimiter.limit.store.AdmitCommand;
import io.simpletokenlimiter.limit.store.LimitStore;
import java.util.Optional;

/**
 * The admission rule of {@link LimitStore} over a user's ledger and, for a team member, the team's:
 * admitted only if the request fits both, recorded in both. The caller holds both ledgers' locks.
 */
final class MemoryAdmission {

  private MemoryAdmission() {}

  static Admission admit(
      AdmitCommand command,
      UserLedger user,
      Optional<UserLedger> team,
      CalendarMonth calendar,
      LimitStore holder) {
    long now =
        Math.max(
            user.at(command.nowMillis()),
            team.map(ledger -> ledger.at(command.nowMillis())).orElse(Long.MIN_VALUE));
    CalendarMonth.Span month = calendar.at(now);
    Limits userLimits = command.limits();
    Limits teamLimits = command.team().map(t -> t.limits()).orElse(userLimits);
    user.keepMonthIf(userLimits);
    team.ifPresent(ledger -> ledger.keepMonthIf(teamLimits));
    user.expireLeases(now, month);
    long room = user.room(userLimits, now, month);
    long teamRoom = Long.MAX_VALUE;
    if (team.isPresent()) {
      team.get().expireLeases(now, month);
      teamRoom = team.get().room(teamLimits, now, month);
    }
    Quota quota =
        tighter(
            user.quota(userLimits, now, month),
            team.map(ledger -> ledger.quota(teamLimits, now, month)));

    long granted = command.grantWithin(Math.min(room, teamRoom));
    if (granted < command.request().minCompletionPerChoice()) {
      long minimum = command.minimumUnits();
      Admission.Rejected rejected = null;
      if (room < minimum) {
        rejected = user.rejection(minimum, userLimits, now, month, LimitScope.USER);
      }
      if (teamRoom < minimum) {
        Admission.Rejected byTeam =
            team.get().rejection(minimum, teamLimits, now, month, LimitScope.TEAM);
        if (rejected == null || byTeam.retryAfterMillis() > rejected.retryAfterMillis()) {
          rejected = byTeam;
        }
      }
      return new Admission.Rejected(
          rejected.limitType(), rejected.retryAfterMillis(), quota, rejected.scope());
    }
    if (!user.slotFree(userLimits)) {
      return new Admission.Rejected(
          LimitType.CONCURRENT, RetryHints.SHORT_RETRY_MILLIS, quota, LimitScope.USER);
    }
    if (team.isPresent() && !team.get().slotFree(teamLimits)) {
      return new Admission.Rejected(
          LimitType.CONCURRENT, RetryHints.SHORT_RETRY_MILLIS, quota, LimitScope.TEAM);
    }
    long reserved = command.unitsWith(granted);
    long expiresAt = now + command.leaseTtlMillis();
    user.recordLease(command.leaseId(), reserved, expiresAt, now);
    team.ifPresent(ledger -> ledger.recordLease(command.leaseId(), reserved, expiresAt, now));
    quota =
        tighter(
            user.quota(userLimits, now, month),
            team.map(ledger -> ledger.quota(teamLimits, now, month)));
    return new Admission.Admitted(
        command.userId(), command.leaseId(), reserved, granted, quota, holder);
  }

  /**
   * The token quota with less room, the user's on a tie: what a client should pace itself by. The
   * in-flight figures stay the user's own.
   */
  static Quota tighter(Quota user, Optional<Quota> team) {
    if (team.isEmpty()) {
      return user;
    }
    Quota other = team.get();
    if (other.limitTokens() == Limits.UNLIMITED) {
      return user;
    }
    if (user.limitTokens() == Limits.UNLIMITED
        || other.remainingTokens() < user.remainingTokens()) {
      return new Quota(
          other.tightest(),
          other.limitTokens(),
          other.remainingTokens(),
          other.resetMillis(),
          user.maxConcurrent(),
          user.inFlight(),
          LimitScope.TEAM);
    }
    return user;
  }
}
