-- Shared head of every limit-store script: RedisLimitStore prepends it to each script body.
--
-- KEYS[1] the user's bucket hash (field "<window prefix>:<bucket index>" -> tokens)
-- KEYS[2] the user's lease hash (field lease id -> "<reserved tokens>:<expires at millis>")
-- Both keys carry the user's hash tag, so a script touches one cluster slot.
--
-- ARGV[1] now, in epoch millis, from the caller's clock: never Redis TIME, so that every replica
--         and every test drives time the same way (see docs/redis-store.md)
-- ARGV[2] number of windows n, shortest first; then per window: field prefix, bucket millis,
--         buckets per window. The Java Window enum is the only place these numbers are written.
-- ARGV[3 + 3n] on: the script's own arguments.

local BUCKETS = KEYS[1]
local LEASES = KEYS[2]
local now = tonumber(ARGV[1])
local windowCount = tonumber(ARGV[2])
local windows = {}
local windowByPrefix = {}
-- Buckets are kept until the longest window no longer counts them.
local retentionMillis = 0
for i = 1, windowCount do
  local base = 3 + (i - 1) * 3
  local bucketMillis = tonumber(ARGV[base + 1])
  local perWindow = tonumber(ARGV[base + 2])
  local current = math.floor(now / bucketMillis)
  local window = {
    prefix = ARGV[base],
    bucketMillis = bucketMillis,
    perWindow = perWindow,
    current = current,
    oldest = current - perWindow,
    sum = 0,
    counted = {}
  }
  windows[i] = window
  windowByPrefix[window.prefix] = window
  retentionMillis = math.max(retentionMillis, (perWindow + 1) * bucketMillis)
end
local argIndex = 3 + 3 * windowCount

local function nextArg()
  local value = ARGV[argIndex]
  argIndex = argIndex + 1
  return value
end

-- Lua numbers are doubles: format integers explicitly so Redis never sees "1.7e+12".
local function int(number)
  return string.format('%d', number)
end

local function expiryOf(window, bucket)
  return (bucket + window.perWindow + 1) * window.bucketMillis
end

local function splitPair(text)
  local sep = string.find(text, ':', 1, true)
  return string.sub(text, 1, sep - 1), string.sub(text, sep + 1)
end

local function chargeNow(tokens)
  for i = 1, windowCount do
    local window = windows[i]
    redis.call('HINCRBY', BUCKETS, window.prefix .. ':' .. int(window.current), int(tokens))
  end
end

-- Removes expired leases (except keepId) and charges their whole reservation now: a replica
-- died mid-request and nobody knows what was served. Returns live lease count, live reserved
-- tokens, and whether anything was written.
local function expireLeases(keepId)
  local leases = redis.call('HGETALL', LEASES)
  local liveCount, liveReserved, charge, wrote = 0, 0, 0, false
  for i = 1, #leases, 2 do
    local id = leases[i]
    if id ~= keepId then
      local reservedText, expiresText = splitPair(leases[i + 1])
      local reserved = tonumber(reservedText)
      if tonumber(expiresText) <= now then
        redis.call('HDEL', LEASES, id)
        charge = charge + reserved
        wrote = true
      else
        liveCount = liveCount + 1
        liveReserved = liveReserved + reserved
      end
    end
  end
  if charge > 0 then
    chargeNow(charge)
  end
  return liveCount, liveReserved, wrote
end

-- Sums the counted buckets of every window into window.sum and window.counted ({index, tokens});
-- returns the fields no window counts any more.
local function readBuckets()
  local fields = redis.call('HGETALL', BUCKETS)
  local stale = {}
  for i = 1, #fields, 2 do
    local prefix, indexText = splitPair(fields[i])
    local window = windowByPrefix[prefix]
    local index = tonumber(indexText)
    if window ~= nil and index ~= nil and index >= window.oldest then
      local tokens = tonumber(fields[i + 1])
      window.sum = window.sum + tokens
      table.insert(window.counted, {index, tokens})
    else
      table.insert(stale, fields[i])
    end
  end
  return stale
end

local function staleBuckets()
  local stale = {}
  local fields = redis.call('HKEYS', BUCKETS)
  for i = 1, #fields do
    local prefix, indexText = splitPair(fields[i])
    local window = windowByPrefix[prefix]
    local index = tonumber(indexText)
    if window == nil or index == nil or index < window.oldest then
      table.insert(stale, fields[i])
    end
  end
  return stale
end

-- Sets a key's time to live to at least ttlMillis; never shortens it, so a settle cannot cut
-- the life of a lease that another request renewed further.
local function keepAlive(key, ttlMillis)
  local left = redis.call('PTTL', key)
  if left == -2 or (left >= 0 and left >= ttlMillis) then
    return
  end
  redis.call('PEXPIRE', key, int(ttlMillis))
end

-- After a write: drops buckets no window counts and pushes both keys' expiry out, so an idle
-- user's keys vanish by themselves.
local function finishWrite(stale, leaseTtlMillis)
  if #stale > 0 then
    redis.call('HDEL', BUCKETS, unpack(stale))
  end
  keepAlive(BUCKETS, retentionMillis + leaseTtlMillis)
  keepAlive(LEASES, retentionMillis + leaseTtlMillis)
end

