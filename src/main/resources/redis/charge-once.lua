-- charge-once: charges units counted outside the store (what an outage's fallback admitted) into
-- the buckets of now, in the user's ledger and, for a team member, the team's; at most once per
-- charge id. The ids of a ledger's recent charges are kept in a set beside it (the last of KEYS,
-- under the same hash tag), so that a try sent again after its answer was lost charges nothing.
-- Arguments: charge id, units, how long the ids are kept (millis).
-- Returns 1 if it charged, 0 for a repeat.

local chargeId = nextArg()
local units = tonumber(nextArg())
local keepMillis = tonumber(nextArg())
local charges = KEYS[#KEYS]
if redis.call('SADD', charges, chargeId) == 0 then
  return 0
end
redis.call('PEXPIRE', charges, keepMillis)
readAll(#KEYS - 1)
for i = 1, #ledgers do
  expireLeases(ledgers[i], nil)
  chargeNow(ledgers[i], units)
end
saveAll()
return 1
