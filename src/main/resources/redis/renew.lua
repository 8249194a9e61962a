-- renew: pushes a live lease's expiry to now + ttl, in every ledger of the call. Arguments: lease
-- id, lease ttl millis. Returns 1 if the user's lease was renewed, 0 if it is gone or already
-- expired (it is then charged in full, like any expired lease).

local leaseId = nextArg()
local leaseTtl = tonumber(nextArg())

readAll()
local renewed = 0
for i = 1, #ledgers do
  local ledger = ledgers[i]
  expireLeases(ledger, nil)
  local lease = ledger.leases[leaseId]
  if lease ~= nil then
    putLease(ledger, leaseId, lease.reserved, now + leaseTtl)
    if i == 1 then
      renewed = 1
    end
  end
end
saveAll()
return renewed
