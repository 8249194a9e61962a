-- forget: an operator forgives a user's counted usage. Deletes every bucket and month field of
-- the user's hash; live leases ("l:..."), the latest time ("t") and the expiry mark ("x") stay,
-- so requests in flight keep their reservations. No arguments; returns the number of fields
-- deleted. (The prelude has read the hash already; forgetting is rare.)

local fields = redis.call('HKEYS', ledgers[1].key)
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
if #buckets > 0 then
  redis.call('HDEL', ledgers[1].key, unpack(buckets))
end
return #buckets
