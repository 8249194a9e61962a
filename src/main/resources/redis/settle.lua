-- settle: ends a lease and charges what was really served into the buckets of now.
-- Arguments: lease id, charged tokens. Returns 1 if the lease was there (even if expired but not
-- yet found so), 0 if it was gone; then nothing but other leases' expiry is changed.

local leaseId = nextArg()
local charged = tonumber(nextArg())

load()
expireLeases(leaseId)
local found = leases[leaseId] ~= nil
if found then
  removeLease(leaseId)
  chargeNow(charged)
end
save()
if found then
  return 1
end
return 0
