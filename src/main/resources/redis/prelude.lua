-- Shared head of every limit-store script: RedisLimitStore prepends it to each script body.
--
-- KEYS[1] the user's one hash: stl:{<user>}:ledger, or for a member of a team
--         stl:{team:<team>}:user:<user> (the braces are the cluster hash tag: a team's members
--         live in the team's slot); KEYS[2], for a team member, the team's hash
--         stl:{team:<team>}:team, laid out the same way. (charge-once.lua takes one more key
--         last: the user's hash's name and ":charges", a set of the ids it has charged.)
--         Each hash holds:
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
-- and two summaries, so that admit and settle read a few fields (HMGET) instead of the whole
-- hash, which for a busy user holds ~200 buckets. Their numbers are packed, 7-byte little-endian
-- signed integers (struct.pack): one C call reads or writes each summary, where text took a
-- match or a format per number; each stays within the 64 bytes of a listpack value.
--   "H"              the leases (count, reserved units, no lease expires before millis), the time
--                    of the latest charge (a window is empty its length after it; -1: none) and
--                    the start of the latest month with an "M:" field (-1: none)
--   "W"              per window, shortest first: its first bucket, units and floor: the units of
--                    every bucket from the first on; the buckets from the floor up to the first
--                    left the window and are deleted with the next HDEL (a settle's), none below
--                    the floor exists
-- A script that changes buckets without keeping the summaries deletes them (invalidate); the next
-- admit or settle then reads the whole hash (readAll) and writes them anew. So does one that finds
-- them unusable: a lease may have expired, a month later than now's was charged, or another
-- replica's later write moved now into another bucket. The fast read (readEdges) serves
-- everything else; a window that rejects an admission then reads that window's buckets only, for
-- the retry hint (admit.lua).
-- A script writes each hash with at most one HSET and one HDEL, plus a PEXPIRE only when the
-- expiry must be pushed out (at most about once an hour per ledger).
--
-- ARGV[1] now, in epoch millis, from the caller's clock: never Redis TIME, so that every replica
--         and every test drives time the same way (see docs/redis-store.md). Time never goes
--         backwards for a ledger: the scripts use the max of now and every ledger's "t".
-- ARGV[2], ARGV[3]: the first and the end millisecond of the calendar month of now, in the
--         configured zone (Java's CalendarMonth: Lua has no calendar).
-- ARGV[4] on: the script's own arguments.
-- WINDOW_SPANS, the line LimitScripts writes above this one: per window, shortest first, its
-- field prefix, bucket millis and buckets per window. The Java Window enum is the only place these
-- numbers are written; written into the script, they are not sent (and parsed) with every call.

local now = tonumber(ARGV[1])
local windowCount = #WINDOW_SPANS
local windows = {}
local windowByPrefix = {}
-- The summary fields, then those of the text summaries an earlier version kept ("A", "C", "N",
-- "S<p>"): a whole read deletes them, and so does every call that deletes the summaries.
local summaryNames = {'H', 'W', 'A', 'C', 'N'}
local isLegacySummary = {A = true, C = true, N = true}
-- A hash lives until the longest window no longer counts anything it holds: its length after
-- the latest charge (or the month's end, if later).
local retentionMillis = 0
for i = 1, windowCount do
  local span = WINDOW_SPANS[i]
  local prefix, bucketMillis, perWindow = span[1], span[2], span[3]
  local window = {
    index = i,
    prefix = prefix,
    bucketMillis = bucketMillis,
    perWindow = perWindow,
    lengthMillis = perWindow * bucketMillis
  }
  windows[i] = window
  windowByPrefix[window.prefix] = window
  table.insert(summaryNames, 'S' .. prefix)
  isLegacySummary['S' .. prefix] = true
  retentionMillis = math.max(retentionMillis, perWindow * bucketMillis)
end
local monthStart = tonumber(ARGV[2])
local monthEnd = tonumber(ARGV[3])
local MONTH = windowCount + 1
local HEAD_FORMAT = '<i7i7i7i7i7'
local WINDOWS_FORMAT = '<' .. string.rep('i7', 3 * windowCount)
-- Past 2^53 a double no longer holds every whole number: a ledger whose units grow past it (far
-- beyond the largest limit) keeps no summaries, and each call reads it whole.
local PACKED_MAX = 9007199254740992
local argIndex = 4

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

local function bucketName(window, bucket)
  return window.prefix .. ':' .. int(bucket)
end

-- The oldest bucket that may still count at millis: every older one expired, every newer one
-- still counts, and this one counts until one window length after its latest charge.
local function edgeOf(window, millis)
  return math.floor((millis - window.lengthMillis) / window.bucketMillis)
end

-- The first instant at which the units of a bucket are no longer counted: one window length
-- after its latest charge (Window.expiryOfChargeAt in Java).
local function expiryOf(window, bucket, offset)
  return bucket * window.bucketMillis + offset + window.lengthMillis
end

-- "a:b" as two numbers; a third part, if any, as a third.
local function numbers(text)
  local a, b, c = string.match(text, '^([^:]*):([^:]*):?(.*)$')
  return tonumber(a), tonumber(b), tonumber(c)
end

local function splitPair(text)
  local sep = string.find(text, ':', 1, true)
  return string.sub(text, 1, sep - 1), string.sub(text, sep + 1)
end

-- One hash and what this script changes in it.
local function newLedger(key)
  local ledger = {
    key = key,
    full = false,      -- whether the whole hash was read (readAll), or only its edges
    buckets = {},      -- field -> {window, bucket, offset, tokens, expiry (once counted)}
    leases = {},       -- id -> {reserved, expires}: all of them, or (edges) only the one asked
    liveCount = 0,
    liveReserved = 0,
    leaseFloor = 0,    -- no live lease expires before
    latestWrite = nil, -- "t"
    expiresBy = nil,   -- "x"
    latestCharge = nil, -- "C"
    monthWritten = nil, -- "N"
    month = 0,         -- units of the month of now (and of any later one a clock ahead wrote)
    monthField = 'M:' .. int(monthStart),
    sums = {},         -- window index -> counted units
    edges = {},        -- window index -> the oldest bucket that may count at now
    firsts = {},       -- window index -> first bucket whose units the sum holds ("W")
    floors = {},       -- window index -> no bucket below it exists ("W")
    counted = {},      -- window index -> field -> its buckets entry (readAll only)
    storedHead = nil,  -- "H" as read
    storedWindows = nil, -- "W" as read
    changed = {},      -- field -> new value, for the HSET
    deleted = {},      -- lease fields for the HDEL
    stale = {},        -- buckets nothing counts: deleted with the next write
    dirty = false,     -- whether anything must be written
    invalid = false    -- whether buckets changed outside the summaries: delete them
  }
  for i = 1, windowCount do
    ledger.sums[i] = 0
    ledger.counted[i] = {}
  end
  return ledger
end

local function moveNowTo(latestWrite)
  if latestWrite ~= nil and latestWrite > now then
    now = latestWrite
  end
end

-- Reads the whole hash and moves now up to its latest write. Call count() once every ledger of
-- the script is read, so that all of them count at the same now.
local function read(ledger)
  ledger.full = true
  local fields = redis.call('HGETALL', ledger.key)
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1]
    if name == 't' then
      ledger.latestWrite = tonumber(value)
    elseif name == 'H' then
      ledger.storedHead = value
    elseif name == 'W' then
      ledger.storedWindows = value
    elseif isLegacySummary[name] then
      table.insert(ledger.stale, name)
    elseif name == 'q' then
      ledger.keepsMonth = true
    elseif name == 'x' then
      ledger.expiresBy = tonumber(value)
    else
      -- one match per field, not a find and two subs: a busy user's hash holds ~200 fields
      local kind, rest = string.match(name, '^([^:]*):(.*)$')
      if kind == 'l' then
        local reserved, expires = numbers(value)
        ledger.leases[rest] = {reserved = reserved, expires = expires}
      elseif kind == 'M' then
        local start = tonumber(rest)
        if start >= monthStart then
          ledger.month = ledger.month + tonumber(value)
          ledger.monthWritten = math.max(ledger.monthWritten or start, start)
          if name == ledger.monthField then
            ledger.monthTokens = tonumber(value)
          end
        else
          table.insert(ledger.stale, name)
        end
      else
        local offset, tokens = numbers(value)
        ledger.buckets[name] = {
          window = windowByPrefix[kind],
          bucket = tonumber(rest),
          offset = offset,
          tokens = tokens
        }
      end
    end
  end
  moveNowTo(ledger.latestWrite)
end

-- Counts every window's live buckets into ledger.sums and ledger.counted; remembers buckets no
-- window counts any more, to delete with the next write.
local function count(ledger)
  for i = 1, windowCount do
    ledger.edges[i] = edgeOf(windows[i], now)
    ledger.firsts[i] = ledger.edges[i]
    ledger.floors[i] = ledger.edges[i]
  end
  for name, entry in pairs(ledger.buckets) do
    local window = entry.window
    local expiry = window and entry.bucket and expiryOf(window, entry.bucket, entry.offset)
    if expiry ~= nil and expiry > now then
      entry.expiry = expiry
      ledger.sums[window.index] = ledger.sums[window.index] + entry.tokens
      ledger.counted[window.index][name] = entry
      if entry.tokens > 0 then
        ledger.latestCharge = math.max(ledger.latestCharge or 0, expiry - window.lengthMillis)
      end
    else
      table.insert(ledger.stale, name)
    end
  end
end

-- The fields readEdges asks for first: the ledger's own; then for an admission per window the two
-- buckets at its edge, for a settle its lease and per window the bucket of now.
local EDGE_FIELDS = 6

-- Asks for the summaries; for an admission per window the two buckets at its edge, for a settle
-- (leaseId) its lease and the buckets it charges: a settle only adds to its sums, it need not
-- know what left the windows (the next admission takes that out). Each field asked costs a scan
-- of the hash's listpack, the more so for a field it does not hold. Moves now up to the ledger's
-- latest write; call edges() once every ledger of the script is read.
local function readEdges(ledger, leaseId)
  local names = {'t', 'x', 'q', 'H', 'W', ledger.monthField}
  local at = EDGE_FIELDS
  for i = 1, windowCount do
    local window = windows[i]
    local edge = edgeOf(window, now)
    ledger.edges[i] = edge
    if leaseId == nil then
      names[at + 1] = bucketName(window, edge - 1)
      names[at + 2] = bucketName(window, edge)
      at = at + 2
    end
  end
  if leaseId ~= nil then
    names[at + 1] = 'l:' .. leaseId
    for i = 1, windowCount do
      names[at + 1 + i] = bucketName(windows[i], bucketOf(windows[i], now))
    end
  end
  ledger.names = names
  ledger.values = redis.call('HMGET', ledger.key, unpack(names))
  ledger.latestWrite = tonumber(ledger.values[1])
  moveNowTo(ledger.latestWrite)
end

local function unitsOf(bucketValue)
  local _, tokens = numbers(bucketValue)
  return tokens
end

-- Takes what readEdges read into the ledger. For an admission, takes out of each window's sum the
-- buckets that left it since its summary was written; those two edges did not read (the user
-- paused) are read with one more HMGET: no more than the window's buckets, since none was charged
-- after the latest charge. A settle keeps each sum as it was: it holds the units of every bucket
-- from the window's first on, and the buckets of now are among them. Returns false when the
-- summaries cannot serve this call, which must then read the whole hash.
local function edges(ledger, leaseId)
  local values = ledger.values
  local head, packed = values[4], nil
  if ledger.latestWrite ~= nil then
    if not head or not values[5] then
      return false
    end
    local latestCharge, monthWritten
    ledger.liveCount, ledger.liveReserved, ledger.leaseFloor, latestCharge, monthWritten =
      struct.unpack(HEAD_FORMAT, head)
    if ledger.liveCount > 0 and ledger.leaseFloor <= now then
      return false
    end
    if latestCharge >= 0 then
      ledger.latestCharge = latestCharge
    end
    if monthWritten >= 0 then
      ledger.monthWritten = monthWritten
      if monthWritten > monthStart then
        return false
      end
    end
    ledger.storedHead, ledger.storedWindows = head, values[5]
    packed = {struct.unpack(WINDOWS_FORMAT, values[5])}
  end
  ledger.expiresBy = tonumber(values[2])
  ledger.keepsMonth = values[3] ~= false
  if values[6] then
    ledger.monthTokens = tonumber(values[6])
    ledger.month = ledger.monthTokens
  end
  -- names of the buckets that left a window beyond the two read, and the window of each
  local farther, farWindow = {}, {}
  for i = 1, windowCount do
    local window = windows[i]
    local edge = ledger.edges[i]
    -- another replica's later write moved now into another bucket: names read are not the edge
    -- (nor, the window being a whole number of buckets, the bucket of now)
    if edge ~= edgeOf(window, now) then
      return false
    end
    local first, sum, floor = edge, 0, edge
    if packed then
      local at = (i - 1) * 3
      first, sum, floor = packed[at + 1], packed[at + 2], packed[at + 3]
    end
    if leaseId == nil and first < edge - 1 and ledger.latestCharge ~= nil then
      for bucket = first, math.min(edge - 2, bucketOf(window, ledger.latestCharge)) do
        farther[#farther + 1] = bucketName(window, bucket)
        farWindow[#farther] = i
      end
    end
    ledger.firsts[i], ledger.sums[i], ledger.floors[i] = first, sum, floor
  end
  if leaseId ~= nil then
    local at = EDGE_FIELDS + 1
    if values[at] then
      local reserved, expires = numbers(values[at])
      ledger.leases[leaseId] = {reserved = reserved, expires = expires}
    end
    for i = 1, windowCount do
      local value = values[at + i]
      if value then
        local name = ledger.names[at + i]
        local offset, tokens = numbers(value)
        ledger.buckets[name] = {window = windows[i], offset = offset, tokens = tokens}
      end
    end
    return true
  end
  if #farther > 0 then
    local farValues = redis.call('HMGET', ledger.key, unpack(farther))
    for k = 1, #farther do
      if farValues[k] then
        local i = farWindow[k]
        ledger.sums[i] = ledger.sums[i] - unitsOf(farValues[k])
      end
    end
  end
  for i = 1, windowCount do
    local window = windows[i]
    local at = EDGE_FIELDS + (i - 1) * 2
    local edge = ledger.edges[i]
    local first, sum = ledger.firsts[i], ledger.sums[i]
    if first <= edge - 1 then
      if values[at + 1] then
        sum = sum - unitsOf(values[at + 1])
      end
      first = edge
    end
    if first == edge and values[at + 2] then
      local offset, tokens = numbers(values[at + 2])
      if expiryOf(window, edge, offset) <= now then
        sum = sum - tokens
        first = edge + 1
      end
    end
    if sum < 0 then
      return false
    end
    ledger.firsts[i], ledger.sums[i] = first, sum
  end
  return true
end

-- Adds units to the current bucket of every window and to the month, at now.
local function chargeNow(ledger, tokens)
  if tokens <= 0 then
    return
  end
  for i = 1, windowCount do
    local window = windows[i]
    local bucket = bucketOf(window, now)
    local name = bucketName(window, bucket)
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
  ledger.latestCharge = now
  ledger.monthTokens = (ledger.monthTokens or 0) + tokens
  ledger.month = ledger.month + tokens
  ledger.changed[ledger.monthField] = int(ledger.monthTokens)
  if ledger.monthWritten ~= nil and ledger.monthWritten < monthStart then
    table.insert(ledger.stale, 'M:' .. int(ledger.monthWritten))
  end
  ledger.monthWritten = math.max(ledger.monthWritten or monthStart, monthStart)
  ledger.dirty = true
end

-- Removes expired leases (except keepId) and charges their whole reservation now: a replica
-- died mid-request and nobody knows what was served. Sets and returns the live lease count and
-- reserved units (keepId's included). Reading only the edges, no lease has expired (else edges()
-- refuses): the summary's counts stand.
local function expireLeases(ledger, keepId)
  if not ledger.full then
    return ledger.liveCount, ledger.liveReserved
  end
  local liveCount, liveReserved, charge = 0, 0, 0
  for id, lease in pairs(ledger.leases) do
    if id ~= keepId and lease.expires <= now then
      charge = charge + lease.reserved
      ledger.leases[id] = nil
      table.insert(ledger.deleted, 'l:' .. id)
      ledger.dirty = true
    else
      liveCount = liveCount + 1
      liveReserved = liveReserved + lease.reserved
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

-- A new lease: counted among the live ones at once.
local function addLease(ledger, id, reserved, expires)
  if ledger.liveCount == 0 or expires < ledger.leaseFloor then
    ledger.leaseFloor = expires
  end
  ledger.liveCount = ledger.liveCount + 1
  ledger.liveReserved = ledger.liveReserved + reserved
  putLease(ledger, id, reserved, expires)
end

-- Ends a lease the ledger holds (ledger.leases[id]).
local function endLease(ledger, id)
  ledger.liveCount = ledger.liveCount - 1
  ledger.liveReserved = ledger.liveReserved - ledger.leases[id].reserved
  ledger.leases[id] = nil
  table.insert(ledger.deleted, 'l:' .. id)
  ledger.dirty = true
end

-- Buckets changed behind the summaries' back (a carry): delete them with the next write, so
-- that the next admit or settle reads the whole hash and writes them anew.
local function invalidate(ledger)
  ledger.invalid = true
  ledger.dirty = true
end

-- Has the HDEL that goes out anyway take every bucket nothing counts: those below each window's
-- first bucket (only up to the latest charge: none was charged later) and, reading the whole
-- hash, every stale field.
local function deleteLeftBuckets(ledger)
  for i = 1, windowCount do
    local window = windows[i]
    if not ledger.full and ledger.latestCharge ~= nil then
      local last = math.min(ledger.firsts[i] - 1, bucketOf(window, ledger.latestCharge))
      for bucket = ledger.floors[i], last do
        table.insert(ledger.deleted, bucketName(window, bucket))
      end
    end
    ledger.floors[i] = ledger.firsts[i]
  end
  for _, name in ipairs(ledger.stale) do
    table.insert(ledger.deleted, name)
  end
end

-- The summaries ("H", "W") as they must be after this call; nil if a number outgrew them.
local function summaries(ledger)
  local count, reserved, floor = ledger.liveCount, ledger.liveReserved, ledger.leaseFloor
  if ledger.full then
    count, reserved, floor = 0, 0, 0
    for _, lease in pairs(ledger.leases) do
      count = count + 1
      reserved = reserved + lease.reserved
      if count == 1 or lease.expires < floor then
        floor = lease.expires
      end
    end
  end
  if count == 0 then
    floor = 0
  end
  -- times and bucket numbers stay far below it: only units may grow that large
  if reserved > PACKED_MAX then
    return nil
  end
  local perWindow = {}
  for i = 1, windowCount do
    if ledger.sums[i] > PACKED_MAX then
      return nil
    end
    local at = (i - 1) * 3
    perWindow[at + 1], perWindow[at + 2], perWindow[at + 3] =
      ledger.firsts[i], ledger.sums[i], ledger.floors[i]
  end
  local head = struct.pack(
    HEAD_FORMAT, count, reserved, floor, ledger.latestCharge or -1, ledger.monthWritten or -1)
  return head, struct.pack(WINDOWS_FORMAT, unpack(perWindow))
end

-- Writes what changed: one HSET (with "t", the summaries that changed and, when the expiry
-- moves, "x"); one HDEL for ended leases and every field nothing counts any more; and a PEXPIRE
-- only when the hash must live longer than its expiry allows: until nothing it holds is counted
-- any more (the longest window after the latest charge; under a monthly quota the end of a
-- charged month), and every lease has expired and been counted for a whole window. The expiry is
-- then set an hour further, so that this happens about once an hour per active ledger. Never
-- shortened: a settle cannot cut the life of a lease that another request renewed. Reads and
-- rejections write nothing, not even the summaries: only writes move a ledger's time forward.
local function save(ledger)
  if ledger.invalid then
    for _, name in ipairs(summaryNames) do
      table.insert(ledger.deleted, name)
    end
  elseif ledger.dirty then
    if ledger.full or #ledger.deleted > 0 then
      deleteLeftBuckets(ledger)
    end
    local head, perWindow = summaries(ledger)
    if head == nil then
      for _, name in ipairs(summaryNames) do
        table.insert(ledger.deleted, name)
      end
    else
      if ledger.storedHead ~= head then
        ledger.changed.H = head
      end
      if ledger.storedWindows ~= perWindow then
        ledger.changed.W = perWindow
      end
    end
  end
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
    redis.call('HDEL', ledger.key, unpack(ledger.deleted))
  end
  if pushExpiry then
    redis.call('PEXPIRE', ledger.key, int(ledger.expiresBy - now))
  end
end

-- The ledgers of this call: the user's, and the team's for a team member.
local ledgers = {}

-- Reads the first n keys' ledgers (every key's when n is nil) whole, then counts all of them at
-- the same now.
local function readAll(n)
  for i = 1, n or #KEYS do
    ledgers[i] = newLedger(KEYS[i])
    read(ledgers[i])
  end
  for i = 1, #ledgers do
    count(ledgers[i])
  end
end

-- Reads only the edges of every ledger (and leaseId's lease) if their summaries can serve the
-- call, else every ledger whole.
local function readFast(leaseId)
  for i = 1, #KEYS do
    ledgers[i] = newLedger(KEYS[i])
    readEdges(ledgers[i], leaseId)
  end
  for i = 1, #ledgers do
    if not edges(ledgers[i], leaseId) then
      readAll()
      return
    end
  end
end

local function saveAll()
  for i = 1, #ledgers do
    save(ledgers[i])
  end
end
