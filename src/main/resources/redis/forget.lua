-- forget: an operator forgives a user's counted usage. Deletes every bucket field of the user's
-- hash; live leases ("l:..."), the latest time ("t") and the expiry mark ("x") stay, so requests
-- in flight keep their reservations. No arguments; returns the number of buckets deleted.

local fields = redis.call('HKEYS', KEY)
local buckets = {}
for _, field in ipairs(fields) do
  local sep = string.find(field, ':', 1, true)
  if sep ~= nil and windowByPrefix[string.sub(field, 1, sep - 1)] ~= nil then
    table.insert(buckets, field)
  end
end
if #buckets > 0 then
  redis.call('HDEL', KEY, unpack(buckets))
end
return #buckets
