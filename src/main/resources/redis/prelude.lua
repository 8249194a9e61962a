-- Shared head of every limit-store script: RedisLimitStore prepends it to each script body.
--
-- KEYS[1] the user's one hash: stl:{<user>}:ledger, or for a member of a team
--         stl:{team:<team>}:user:<user> (the braces are the cluster hash tag: a team's members
--         live in the team's slot); KEYS[2], for a team member, the team's hash
--         stl:{team:<team>}:team, laid out the same way. Each hash holds:
--   "t"              the latest now any write of this ledger has seen (epoch millis)
--   "x"              the time (caller's clock) until which the hash's expiry was last set
--   "l:<lease id>"   a live lease: "<reserved units>:<expires at millis>"
--   "<p>:<bucket>"   units charged in one bucket of one window (p = window prefix, bucket =
--                    floor(time / bucket span)): "<offset of its latest charge in the bucket,
--                    millis>:<units>"
--   "M:<start>"      units charged in the calendar month that starts at <start> (epoch millis)
--   "q"              present once a monthly quota has applied to the ledger: only then does the
--                    month's usage keep the hash alive past the day window (most deployments
--                    have no monthly quota, and keep a user for a day)
-- A script reads each hash once (HGETALL) and writes it with at most one HSET and one HDEL (a
-- settle deletes its lease and every bucket nothing counts any more in the same HDEL), plus a
-- PEXPIRE only when the expiry must be pushed out (at most about once an hour per ledger).
--
-- ARGV[1] now, in epoch millis, from the caller's clock: never Redis TIME, so that every replica
--         and every test drives time the same way (see docs/redis-store.md). Time never goes
--         backwards for a ledger: the scripts use the max of now and every ledger's "t".
-- ARGV[2] number of windows n, shortest first; then per window: field prefix, bucket millis,
--         buckets per window. The Java Window enum is the only place these numbers are written.
-- ARGV[3 + 3n], ARGV[4 + 3n]: the first and the end millisecond of the calendar month of now, in
--         the configured zone (Java's CalendarMonth: Lua has no calendar).
-- ARGV[5 + 3n] on: the script's own arguments.

local now = tonumber(ARGV[1])
local windowCount = tonumber(ARGV[2])
local windows = {}
local windowByPrefix = {}
-- A hash lives until the longest window no longer counts anything it holds: its length after
-- the latest charge (or the month's end, if later).
local retentionMillis = 0
for i = 1, windowCount do
  local base = 3 + (i - 1) * 3
  local bucketMillis = tonumber(ARGV[base + 1])
  local perWindow = tonumber(ARGV[base + 2])
  local window = {
    index = i,
    prefix = ARGV[base],
    bucketMillis = bucketMillis,
    perWindow = perWindow,
    lengthMillis = perWindow * bucketMillis
  }
  windows[i] = window
  windowByPrefix[window.prefix] = window
  retentionMillis = math.max(retentionMillis, perWindow * bucketMillis)
end
local monthStart = tonumber(ARGV[3 + 3 * windowCount])
local monthEnd = tonumber(ARGV[4 + 3 * windowCount])
local MONTH = windowCount + 1
local argIndex = 5 + 3 * windowCount

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

-- The first instant at which the units of a bucket are no longer counted: one window length
-- after its latest charge (Window.expiryOfChargeAt in Java).
local function expiryOf(window, bucket, offset)
  return bucket * window.bucketMillis + offset + window.lengthMillis
end

local function splitPair(text)
  local sep = string.find(text, ':', 1, true)
  return string.sub(text, 1, sep - 1), string.sub(text, sep + 1)
end

-- One hash and what this script changes in it.
local function newLedger(key)
  local ledger = {
    key = key,
    buckets = {},      -- field -> {window, bucket, offset, tokens, expiry (once counted)}
    leases = {},       -- id -> {reserved, expires}
    latestWrite = nil, -- "t"
    expiresBy = nil,   -- "x"
    month = 0,         -- units of the month of now (and of any later one a clock ahead wrote)
    monthField = 'M:' .. int(monthStart),
    sums = {},         -- window index -> counted units
    counted = {},      -- window index -> field -> its buckets entry (no second table)
    changed = {},      -- field -> new value, for the HSET
    deleted = {},      -- lease fields for the HDEL
    stale = {},        -- fields nothing counts: deleted with the next HDEL
    dirty = false      -- whether anything but stale fields must be written
  }
  for i = 1, windowCount do
    ledger.sums[i] = 0
    ledger.counted[i] = {}
  end
  return ledger
end

-- Reads the whole hash and moves now up to its latest write. Call count() once every ledger of
-- the script is read, so that all of them count at the same now.
local function read(ledger)
  local fields = redis.call('HGETALL', ledger.key)
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1]
    if name == 't' then
      ledger.latestWrite = tonumber(value)
    elseif name == 'q' then
      ledger.keepsMonth = true
    elseif name == 'x' then
      ledger.expiresBy = tonumber(value)
    else
      -- one match per field, not a find and two subs: a busy user's hash holds ~200 fields
      local kind, rest = string.match(name, '^([^:]*):(.*)$')
      if kind == 'l' then
        local reserved, expires = string.match(value, '^([^:]*):(.*)$')
        ledger.leases[rest] = {reserved = tonumber(reserved), expires = tonumber(expires)}
      elseif kind == 'M' then
        if tonumber(rest) >= monthStart then
          ledger.month = ledger.month + tonumber(value)
          if name == ledger.monthField then
            ledger.monthTokens = tonumber(value)
          end
        else
          table.insert(ledger.stale, name)
        end
      else
        local offset, tokens = string.match(value, '^([^:]*):(.*)$')
        ledger.buckets[name] = {
          window = windowByPrefix[kind],
          bucket = tonumber(rest),
          offset = tonumber(offset),
          tokens = tonumber(tokens)
        }
      end
    end
  end
  if ledger.latestWrite ~= nil and ledger.latestWrite > now then
    now = ledger.latestWrite
  end
end

-- Counts every window's live buckets into ledger.sums and ledger.counted; remembers buckets no
-- window counts any more, to delete with the next HDEL.
local function count(ledger)
  for name, entry in pairs(ledger.buckets) do
    local window = entry.window
    local expiry = window and entry.bucket and expiryOf(window, entry.bucket, entry.offset)
    if expiry ~= nil and expiry > now then
      entry.expiry = expiry
      ledger.sums[window.index] = ledger.sums[window.index] + entry.tokens
      ledger.counted[window.index][name] = entry
    else
      table.insert(ledger.stale, name)
    end
  end
end

-- Adds units to the current bucket of every window and to the month, at now.
local function chargeNow(ledger, tokens)
  if tokens <= 0 then
    return
  end
  for i = 1, windowCount do
    local window = windows[i]
    local bucket = bucketOf(window, now)
    local name = window.prefix .. ':' .. int(bucket)
    local offset = now - bucket * window.bucketMillis
    local entry = ledger.buckets[name]
    local total = tokens
    if entry ~= nil then
      total = total + entry.tokens
    end
    local charged = {
      window = window,
      bucket = bucket,
      offset = offset,
      tokens = total,
      expiry = expiryOf(window, bucket, offset)
    }
    ledger.buckets[name] = charged
    ledger.sums[i] = ledger.sums[i] + tokens
    ledger.counted[i][name] = charged
    ledger.changed[name] = int(offset) .. ':' .. int(total)
  end
  ledger.monthTokens = (ledger.monthTokens or 0) + tokens
  ledger.month = ledger.month + tokens
  ledger.changed[ledger.monthField] = int(ledger.monthTokens)
  ledger.dirty = true
end

-- Removes expired leases (except keepId) and charges their whole reservation now: a replica
-- died mid-request and nobody knows what was served. Returns live lease count and live
-- reserved units.
local function expireLeases(ledger, keepId)
  local liveCount, liveReserved, charge = 0, 0, 0
  for id, lease in pairs(ledger.leases) do
    if id ~= keepId then
      if lease.expires <= now then
        charge = charge + lease.reserved
        ledger.leases[id] = nil
        table.insert(ledger.deleted, 'l:' .. id)
        ledger.dirty = true
      else
        liveCount = liveCount + 1
        liveReserved = liveReserved + lease.reserved
      end
    end
  end
  chargeNow(ledger, charge)
  ledger.liveCount = liveCount
  ledger.liveReserved = liveReserved
  return liveCount, liveReserved
end

local function putLease(ledger, id, reserved, expires)
  ledger.leases[id] = {reserved = reserved, expires = expires}
  ledger.changed['l:' .. id] = int(reserved) .. ':' .. int(expires)
  ledger.dirty = true
end

local function removeLease(ledger, id)
  ledger.leases[id] = nil
  table.insert(ledger.deleted, 'l:' .. id)
  ledger.dirty = true
end

-- Writes what changed: one HSET (with "t" and, when the expiry moves, "x"); one HDEL when a
-- lease ends, which also deletes every field nothing counts any more (stale fields alone are
-- not worth a command: a settle comes soon); and a PEXPIRE only when the hash must live longer
-- than its expiry allows: until nothing it holds is counted any more (the longest window after
-- the latest charge; under a monthly quota the end of a charged month), and every lease has
-- expired and been counted
-- for a whole window. The expiry is then set an hour further, so that this happens about once
-- an hour per active ledger. Never shortened: a settle cannot cut the life of a lease that
-- another request renewed.
local function save(ledger)
  if not ledger.dirty then
    return
  end
  local needed = now + retentionMillis
  if ledger.keepsMonth and ledger.month > 0 then
    needed = math.max(needed, monthEnd)
  end
  for _, lease in pairs(ledger.leases) do
    needed = math.max(needed, lease.expires + retentionMillis)
  end
  local args = {ledger.key, 't', int(now)}
  local pushExpiry = ledger.expiresBy == nil or needed > ledger.expiresBy
  if pushExpiry then
    ledger.expiresBy = needed + EXPIRY_SLACK_MILLIS
    table.insert(args, 'x')
    table.insert(args, int(ledger.expiresBy))
  end
  for name, value in pairs(ledger.changed) do
    table.insert(args, name)
    table.insert(args, value)
  end
  redis.call('HSET', unpack(args))
  if #ledger.deleted > 0 then
    for _, name in ipairs(ledger.stale) do
      table.insert(ledger.deleted, name)
    end
    redis.call('HDEL', ledger.key, unpack(ledger.deleted))
  end
  if pushExpiry then
    redis.call('PEXPIRE', ledger.key, int(ledger.expiresBy - now))
  end
end

-- The ledgers of this call: the user's, and the team's for a team member. Each is read, then all
-- are counted at the same now.
local ledgers = {}
for i = 1, #KEYS do
  ledgers[i] = newLedger(KEYS[i])
  read(ledgers[i])
end
for i = 1, #ledgers do
  count(ledgers[i])
end

local function saveAll()
  for i = 1, #ledgers do
    save(ledgers[i])
  end
end

