-- renew: pushes a live lease's expiry to now + ttl. Arguments: lease id, lease ttl millis.
-- Returns 1 if renewed, 0 if the lease is gone or already expired (it is then charged in full,
-- like any expired lease).

local leaseId = nextArg()
local leaseTtl = tonumber(nextArg())

load()
expireLeases(nil)
local lease = leases[leaseId]
if lease ~= nil then
  putLease(leaseId, lease.reserved, now + leaseTtl)
end
save()
if lease ~= nil then
  return 1
end
return 0
