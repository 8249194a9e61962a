-- settle: ends a lease and charges what was really served into the buckets of now, in the
-- user's ledger and, for a team member, the team's. Arguments: lease id, charged units.
-- Returns 1 if the user's lease was there (even if expired but not yet found so), 0 if it was
-- gone; then nothing but other leases' expiry is changed.

local leaseId = nextArg()
local charged = tonumber(nextArg())

readFast(leaseId)
local found = 0
for i = 1, #ledgers do
  local ledger = ledgers[i]
  expireLeases(ledger, leaseId)
  if ledger.leases[leaseId] ~= nil then
    endLease(ledger, leaseId)
    chargeNow(ledger, charged)
    if i == 1 then
      found = 1
    end
  end
end
saveAll()
return found
