-- carry-subtract: takes out of a user's old ledger the buckets and month units that carry-in has
-- added to their new one, so that they are counted once. Arguments: field, value pairs as
-- carry-read returned them (leases are skipped: they stay to be settled where they were
-- admitted). A bucket that gained units since the read keeps them; it never goes below zero.
-- Returns the number of fields changed.

local ledger = newLedger(KEYS[1])
local changed = 0
local emptied = {}
while ARGV[argIndex] ~= nil do
  local name = nextArg()
  local value = nextArg()
  local kind = splitPair(name)
  if kind ~= 'l' then
    local current = redis.call('HGET', ledger.key, name)
    if current ~= false then
      if kind == 'M' then
        local left = tonumber(current) - tonumber(value)
        if left > 0 then
          ledger.changed[name] = int(left)
        else
          table.insert(emptied, name)
        end
      else
        local offset, tokens = splitPair(current)
        local _, carried = splitPair(value)
        local left = tonumber(tokens) - tonumber(carried)
        if left > 0 then
          ledger.changed[name] = offset .. ':' .. int(left)
        else
          table.insert(emptied, name)
        end
      end
      changed = changed + 1
    end
  end
end
local updates = {}
for name, remaining in pairs(ledger.changed) do
  table.insert(updates, name)
  table.insert(updates, remaining)
end
if #updates > 0 then
  redis.call('HSET', ledger.key, unpack(updates))
end
if changed > 0 then
  -- the summaries no longer add up: the next admit or settle reads the whole hash
  for _, name in ipairs(summaryNames) do
    table.insert(emptied, name)
  end
end
if #emptied > 0 then
  redis.call('HDEL', ledger.key, unpack(emptied))
end
return changed
