-- usage: counted units per window and in the month (live leases included) and the live lease
-- count, of one ledger (a user's or a team's). No arguments. Returns {used window 1, ..., used
-- window n, used month, live leases}: a UsageReply.

readAll()
local ledger = ledgers[1]
local liveCount, liveReserved = expireLeases(ledger, nil)
save(ledger)
local result = {}
for i = 1, windowCount do
  result[i] = ledger.sums[i] + liveReserved
end
result[MONTH] = ledger.month + liveReserved
result[MONTH + 1] = liveCount
return result
