-- renew: pushes a live lease's expiry to now + ttl. Arguments: lease id, lease ttl millis.
-- Returns 1 if renewed, 0 if the lease is gone or already expired (it is then charged in full,
-- like any expired lease).

local leaseId = nextArg()
local leaseTtl = tonumber(nextArg())

local _, _, wrote = expireLeases(nil)
local lease = redis.call('HGET', LEASES, leaseId)
if lease then
  local reserved = splitPair(lease)
  redis.call('HSET', LEASES, leaseId, reserved .. ':' .. int(now + leaseTtl))
end
if lease or wrote then
  finishWrite(staleBuckets(), leaseTtl)
end
if lease then
  return 1
end
return 0
