-- forget: an operator forgives a user's counted usage. Deletes every bucket and month field of
-- the user's hash, and the summaries (the next admit or settle writes them anew); live leases
-- ("l:..."), the latest time ("t") and the expiry mark ("x") stay, so requests in flight keep
-- their reservations. No arguments; returns the number of bucket and month fields deleted.

local key = KEYS[1]
local fields = redis.call('HKEYS', key)
local buckets = {}
for _, field in ipairs(fields) do
  local sep = string.find(field, ':', 1, true)
  if sep ~= nil then
    local kind = string.sub(field, 1, sep - 1)
    if windowByPrefix[kind] ~= nil or kind == 'M' then
      table.insert(buckets, field)
    end
  end
end
local forgotten = #buckets
if forgotten > 0 then
  for _, name in ipairs(summaryNames) do
    table.insert(buckets, name)
  end
  redis.call('HDEL', key, unpack(buckets))
end
return forgotten
