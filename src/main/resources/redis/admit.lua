-- admit: checks every window and the in-flight limit, then records a lease; one atomic step.
-- Arguments: lease id, lease ttl millis, prompt tokens, choices, min completion per choice,
-- max completion per choice, max concurrent, short retry millis (the hint when only requests in
-- flight stand in the way), then one token limit per window (-1: unlimited).
-- Returns {1, granted per choice, reserved, quota...} when admitted,
-- {0, blocking window index (0: concurrency), retry after millis, quota...} when rejected;
-- quota = tightest window index (0: none limited), its limit, remaining, reset millis, in flight.
-- RedisLimitStore reads the reply into an AdmitReply.

local leaseId = nextArg()
local leaseTtl = tonumber(nextArg())
local prompt = tonumber(nextArg())
local choices = tonumber(nextArg())
local minCompletion = tonumber(nextArg())
local maxCompletion = tonumber(nextArg())
local maxConcurrent = tonumber(nextArg())
local shortRetry = tonumber(nextArg())
for i = 1, windowCount do
  windows[i].limit = tonumber(nextArg())
end

load()
local liveCount, liveReserved = expireLeases(nil)
local minimumCost = prompt + choices * minCompletion

local function used(window)
  return window.sum + liveReserved
end

local function quota()
  local tightest, remaining = 0, nil
  for i = 1, windowCount do
    local window = windows[i]
    if window.limit ~= -1 then
      local left = window.limit - used(window)
      if remaining == nil or left < remaining then
        tightest, remaining = i, left
      end
    end
  end
  if tightest == 0 then
    return 0, -1, -1, 0
  end
  local window = windows[tightest]
  local reset = 0
  for _, bucket in pairs(window.counted) do
    if bucket[2] > 0 then
      reset = math.max(reset, bucket[1] - now)
    end
  end
  return tightest, window.limit, math.max(0, remaining), reset
end

-- Time until enough of this window's tokens expire for the least cost to fit; when the buckets
-- alone never free enough (live leases hold the room) the short hint.
local function retryAfter(window)
  local need = used(window) + minimumCost - window.limit
  local byExpiry = {}
  for _, bucket in pairs(window.counted) do
    table.insert(byExpiry, bucket)
  end
  table.sort(byExpiry, function(a, b) return a[1] < b[1] end)
  local freed = 0
  for _, bucket in ipairs(byExpiry) do
    freed = freed + bucket[2]
    if freed >= need then
      return bucket[1] - now
    end
  end
  return shortRetry
end

local function reject(blocking, retry)
  save()
  local tightest, limit, remaining, reset = quota()
  return {0, blocking, retry, tightest, limit, remaining, reset, liveCount}
end

local granted = maxCompletion
for i = 1, windowCount do
  local window = windows[i]
  if window.limit ~= -1 then
    granted = math.min(granted, math.floor((window.limit - used(window) - prompt) / choices))
  end
end

if granted < minCompletion then
  local blocking, retry = 0, -1
  for i = 1, windowCount do
    local window = windows[i]
    if window.limit ~= -1 and used(window) + minimumCost > window.limit then
      local wait = retryAfter(window)
      -- >= : on a tie the longer window, which comes later, is the one reported
      if wait >= retry then
        blocking, retry = i, wait
      end
    end
  end
  return reject(blocking, retry)
end

if liveCount >= maxConcurrent then
  return reject(0, shortRetry)
end

local reserved = prompt + choices * granted
putLease(leaseId, reserved, now + leaseTtl)
liveCount = liveCount + 1
liveReserved = liveReserved + reserved
save()
local tightest, limit, remaining, reset = quota()
return {1, granted, reserved, tightest, limit, remaining, reset, liveCount}
