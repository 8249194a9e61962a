-- settle: ends a lease and charges what was really served into the buckets of now.
-- Arguments: lease id, charged tokens. Returns 1 if the lease was there (even if expired but not
-- yet found so), 0 if it was gone; then nothing but other leases' expiry is changed.

local leaseId = nextArg()
local charged = tonumber(nextArg())

local _, _, wrote = expireLeases(leaseId)
local found = redis.call('HDEL', LEASES, leaseId) == 1
if found and charged > 0 then
  chargeNow(charged)
end
if found or wrote then
  finishWrite(staleBuckets(), 0)
end
if found then
  return 1
end
return 0
