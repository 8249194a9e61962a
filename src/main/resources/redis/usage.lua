-- usage: counted tokens per window (live leases included) and the live lease count.
-- No arguments. Returns {used window 1, ..., used window n, live leases}: a UsageReply.

load()
local liveCount, liveReserved = expireLeases(nil)
save()
local result = {}
for i = 1, windowCount do
  result[i] = windows[i].sum + liveReserved
end
result[windowCount + 1] = liveCount
return result
