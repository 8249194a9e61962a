-- carry-read: what a user's ledger counts, to carry to the ledger of their new team (see
-- RedisLimitStore.carryOver). No arguments; changes nothing. Returns a flat list of field, value:
-- every bucket some window still counts, the month's units (this month's and any later one's),
-- and every live lease.

readAll()
local ledger = ledgers[1]
local result = {}
for w = 1, windowCount do
  for name, bucket in pairs(ledger.counted[w]) do
    local entry = ledger.buckets[name]
    table.insert(result, name)
    table.insert(result, int(entry.offset) .. ':' .. int(entry.tokens))
  end
end
if ledger.monthTokens ~= nil then
  table.insert(result, ledger.monthField)
  table.insert(result, int(ledger.monthTokens))
end
for id, lease in pairs(ledger.leases) do
  if lease.expires > now then
    table.insert(result, 'l:' .. id)
    table.insert(result, int(lease.reserved) .. ':' .. int(lease.expires))
  end
end
return result
