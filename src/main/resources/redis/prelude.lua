-- Shared head of every limit-store script: RedisLimitStore prepends it to each script body.
--
-- KEYS[1] the user's one hash, stl:{<user>}:ledger (the braces are the cluster hash tag):
--   "t"              the latest now any write of this user has seen (epoch millis)
--   "x"              the time (caller's clock) until which the hash's expiry was last set
--   "l:<lease id>"   a live lease: "<reserved tokens>:<expires at millis>"
--   "<p>:<bucket>"   tokens charged in one bucket of one window (p = window prefix, bucket =
--                    floor(time / bucket span)): "<offset of its latest charge in the bucket,
--                    millis>:<tokens>"
-- A script reads the hash once (HGETALL) and writes it with at most one HSET and one HDEL (a
-- settle deletes its lease and every bucket no window counts any more in the same HDEL), plus a
-- PEXPIRE only when the expiry must be pushed out (at most about once an hour per user).
--
-- ARGV[1] now, in epoch millis, from the caller's clock: never Redis TIME, so that every replica
--         and every test drives time the same way (see docs/redis-store.md). Time never goes
--         backwards for a user: the scripts use max(now, "t").
-- ARGV[2] number of windows n, shortest first; then per window: field prefix, bucket millis,
--         buckets per window. The Java Window enum is the only place these numbers are written.
-- ARGV[3 + 3n] on: the script's own arguments.

local KEY = KEYS[1]
local now = tonumber(ARGV[1])
local windowCount = tonumber(ARGV[2])
local windows = {}
local windowByPrefix = {}
-- The hash lives until the longest window no longer counts anything it holds: its length after
-- the latest charge.
local retentionMillis = 0
for i = 1, windowCount do
  local base = 3 + (i - 1) * 3
  local bucketMillis = tonumber(ARGV[base + 1])
  local perWindow = tonumber(ARGV[base + 2])
  local window = {
    prefix = ARGV[base],
    bucketMillis = bucketMillis,
    perWindow = perWindow,
    slots = perWindow + 1,
    lengthMillis = perWindow * bucketMillis,
    sum = 0,
    counted = {}
  }
  windows[i] = window
  windowByPrefix[window.prefix] = window
  retentionMillis = math.max(retentionMillis, perWindow * bucketMillis)
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

-- The expiry is set this much further than needed, so that most writes need no PEXPIRE.
local EXPIRY_SLACK_MILLIS = 3600000

local function bucketOf(window, millis)
  return math.floor(millis / window.bucketMillis)
end

-- The first instant at which the tokens of a bucket are no longer counted: one window length
-- after its latest charge (Window.expiryOfChargeAt in Java).
local function expiryOf(window, bucket, offset)
  return bucket * window.bucketMillis + offset + window.lengthMillis
end

-- What the hash held, and what this script changes.
local buckets = {}        -- field -> {window, bucket, offset, tokens}
local leases = {}         -- id -> {reserved, expires}
local latestWrite = nil   -- "t"
local expiresBy = nil     -- "x"
local changed = {}        -- field -> new value, for the HSET
local deleted = {}        -- lease fields for the HDEL
local stale = {}          -- buckets no window counts: deleted with the next HDEL
local dirty = false       -- whether anything but stale buckets must be written

local function splitPair(text)
  local sep = string.find(text, ':', 1, true)
  return string.sub(text, 1, sep - 1), string.sub(text, sep + 1)
end

-- Reads the whole hash; moves now up to the latest write (time never goes backwards for a user);
-- counts every window's live buckets into window.sum and window.counted (field -> {expiry,
-- tokens});
-- remembers buckets no window counts any more, to delete with the next HDEL.
local function load()
  local fields = redis.call('HGETALL', KEY)
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1]
    if name == 't' then
      latestWrite = tonumber(value)
    elseif name == 'x' then
      expiresBy = tonumber(value)
    else
      local kind, rest = splitPair(name)
      if kind == 'l' then
        local reserved, expires = splitPair(value)
        leases[rest] = {reserved = tonumber(reserved), expires = tonumber(expires)}
      else
        local offset, tokens = splitPair(value)
        buckets[name] = {
          window = windowByPrefix[kind],
          bucket = tonumber(rest),
          offset = tonumber(offset),
          tokens = tonumber(tokens)
        }
      end
    end
  end
  if latestWrite ~= nil and latestWrite > now then
    now = latestWrite
  end
  for name, entry in pairs(buckets) do
    local window = entry.window
    local expiry = window and entry.bucket and expiryOf(window, entry.bucket, entry.offset)
    if expiry ~= nil and expiry > now then
      window.sum = window.sum + entry.tokens
      window.counted[name] = {expiry, entry.tokens}
    else
      table.insert(stale, name)
    end
  end
end

-- Adds tokens to the current bucket of every window, at now, and to what the windows count.
local function chargeNow(tokens)
  if tokens <= 0 then
    return
  end
  for i = 1, windowCount do
    local window = windows[i]
    local bucket = bucketOf(window, now)
    local name = window.prefix .. ':' .. int(bucket)
    local offset = now - bucket * window.bucketMillis
    local entry = buckets[name]
    local total = tokens
    if entry ~= nil then
      total = total + entry.tokens
    end
    buckets[name] = {window = window, bucket = bucket, offset = offset, tokens = total}
    window.sum = window.sum + tokens
    window.counted[name] = {expiryOf(window, bucket, offset), total}
    changed[name] = int(offset) .. ':' .. int(total)
    dirty = true
  end
end

-- Removes expired leases (except keepId) and charges their whole reservation now: a replica
-- died mid-request and nobody knows what was served. Returns live lease count and live
-- reserved tokens.
local function expireLeases(keepId)
  local liveCount, liveReserved, charge = 0, 0, 0
  for id, lease in pairs(leases) do
    if id ~= keepId then
      if lease.expires <= now then
        charge = charge + lease.reserved
        leases[id] = nil
        table.insert(deleted, 'l:' .. id)
        dirty = true
      else
        liveCount = liveCount + 1
        liveReserved = liveReserved + lease.reserved
      end
    end
  end
  chargeNow(charge)
  return liveCount, liveReserved
end

local function putLease(id, reserved, expires)
  leases[id] = {reserved = reserved, expires = expires}
  changed['l:' .. id] = int(reserved) .. ':' .. int(expires)
  dirty = true
end

local function removeLease(id)
  leases[id] = nil
  table.insert(deleted, 'l:' .. id)
  dirty = true
end

-- Writes what changed: one HSET (with "t" and, when the expiry moves, "x"); one HDEL when a
-- lease ends, which also deletes every bucket no window counts any more (stale buckets alone are
-- not worth a command: a settle comes soon); and a PEXPIRE only when the hash must live longer
-- than its expiry allows: until the longest window no longer counts what it holds, and every
-- lease has expired and been counted for a whole window. The expiry is then set an hour further,
-- so that this happens about once an hour per active user. Never shortened: a settle cannot cut
-- the life of a lease that another request renewed.
local function save()
  if not dirty then
    return
  end
  local needed = now + retentionMillis
  for _, lease in pairs(leases) do
    needed = math.max(needed, lease.expires + retentionMillis)
  end
  local args = {KEY, 't', int(now)}
  local pushExpiry = expiresBy == nil or needed > expiresBy
  if pushExpiry then
    expiresBy = needed + EXPIRY_SLACK_MILLIS
    table.insert(args, 'x')
    table.insert(args, int(expiresBy))
  end
  for name, value in pairs(changed) do
    table.insert(args, name)
    table.insert(args, value)
  end
  redis.call('HSET', unpack(args))
  if #deleted > 0 then
    for _, name in ipairs(stale) do
      table.insert(deleted, name)
    end
    redis.call('HDEL', KEY, unpack(deleted))
  end
  if pushExpiry then
    redis.call('PEXPIRE', KEY, int(expiresBy - now))
  end
end

