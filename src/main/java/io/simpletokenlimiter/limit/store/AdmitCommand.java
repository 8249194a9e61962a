package io.simpletokenlimiter.limit.store;

import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;

/** One atomic admission: check every window and the in-flight limit, then record a lease. */
public record AdmitCommand(
    String userId,
    String leaseId,
    ReservationRequest request,
    Limits limits,
    long nowMillis,
    long leaseTtlMillis) {}
