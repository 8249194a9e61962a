-- carry-in: adds what carry-read found in a user's old ledger to their new one. Arguments: field,
-- value pairs as carry-read returns them. A bucket adds its units to the bucket of the same name
-- and keeps the later of the two latest charges; the month adds its units; a lease is copied
-- unless the new ledger has it, so its reservation counts until it expires here (its request
-- settles in the old ledger, where it was admitted): a carried request is charged its whole
-- reservation, never less. Returns the number of fields carried.

readAll()
local ledger = ledgers[1]
local carried = 0
while ARGV[argIndex] ~= nil do
  local name = nextArg()
  local value = nextArg()
  local kind, rest = splitPair(name)
  if kind == 'l' then
    if ledger.leases[rest] == nil then
      local reserved, expires = numbers(value)
      putLease(ledger, rest, reserved, expires)
    end
  elseif kind == 'M' then
    local units = tonumber(value)
    if name == ledger.monthField then
      ledger.monthTokens = (ledger.monthTokens or 0) + units
      ledger.changed[name] = int(ledger.monthTokens)
    else
      local existing = tonumber(redis.call('HGET', ledger.key, name) or '0')
      ledger.changed[name] = int(existing + units)
    end
    ledger.month = ledger.month + units
    ledger.keepsMonth = true
    ledger.changed['q'] = '1'
  else
    local offset, tokens = splitPair(value)
    local entry = ledger.buckets[name]
    if entry ~= nil then
      offset = math.max(tonumber(offset), entry.offset)
      tokens = tonumber(tokens) + entry.tokens
    end
    ledger.changed[name] = int(offset) .. ':' .. int(tokens)
  end
  carried = carried + 1
end
if carried > 0 then
  invalidate(ledger)
end
save(ledger)
return carried
