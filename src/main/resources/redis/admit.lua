-- admit: checks every window, the month and the in-flight limit of the user and, for a team
-- member, of the team (KEYS[2]), then records the lease in each; one atomic step.
-- Arguments: lease id, lease ttl millis, prompt units, choices, min completion per choice, max
-- completion per choice, completion weight in thousandths, short retry millis (the hint when only
-- requests in flight stand in the way), then per ledger, in KEYS order: max concurrent and one
-- unit limit per window and for the month (-1: unlimited).
-- Returns {1, granted per choice, reserved, quota...} when admitted,
-- {0, blocking window index (0: concurrency, n + 1: month), retry after millis, quota...} when
-- rejected; quota = tightest window index (0: none limited), its limit, remaining, reset millis,
-- in flight; then the scope that blocked and the scope of the quota (0: user, 1: team). RedisLimitStore reads the reply into
-- an AdmitReply.

local leaseId = nextArg()
local leaseTtl = tonumber(nextArg())
local promptUnits = tonumber(nextArg())
local choices = tonumber(nextArg())
local minCompletion = tonumber(nextArg())
local maxCompletion = tonumber(nextArg())
local completionWeight = tonumber(nextArg())
local shortRetry = tonumber(nextArg())
readFast(nil)
for i = 1, #ledgers do
  local ledger = ledgers[i]
  ledger.maxConcurrent = tonumber(nextArg())
  ledger.limits = {}
  for w = 1, MONTH do
    ledger.limits[w] = tonumber(nextArg())
  end
  if ledger.limits[MONTH] ~= -1 and not ledger.keepsMonth then
    ledger.keepsMonth = true
    ledger.changed['q'] = '1'
  end
  expireLeases(ledger, nil)
end

-- What completionTokens cost: TokenWeights.completionUnits in Java.
local function completionUnits(completionTokens)
  return math.ceil(completionTokens * completionWeight / 1000)
end

local function costWith(perChoice)
  return promptUnits + completionUnits(choices * perChoice)
end

local minimumCost = costWith(minCompletion)

local function counted(ledger, w)
  if w == MONTH then
    return ledger.month
  end
  return ledger.sums[w]
end

local function used(ledger, w)
  return counted(ledger, w) + ledger.liveReserved
end

local function room(ledger)
  local least = nil
  for w = 1, MONTH do
    local limit = ledger.limits[w]
    if limit ~= -1 then
      local left = limit - used(ledger, w)
      if least == nil or left < least then
        least = left
      end
    end
  end
  return least
end

-- The largest completion per choice whose cost fits in units: AdmitCommand.grantWithin.
local function grantWithin(units)
  local forCompletion = units - promptUnits
  if forCompletion < 0 then
    return -1
  end
  if completionWeight == 0 then
    return maxCompletion
  end
  local perChoice
  if completionWeight == 1000 then
    perChoice = math.floor(forCompletion / choices)
  else
    perChoice = math.floor(forCompletion * 1000 / completionWeight / choices)
    -- doubles may round the quotient up: step back until the cost fits
    while perChoice >= 0 and completionUnits(choices * perChoice) > forCompletion do
      perChoice = perChoice - 1
    end
  end
  return math.min(maxCompletion, perChoice)
end

local function quota(ledger)
  local tightest, remaining = 0, nil
  for w = 1, MONTH do
    local limit = ledger.limits[w]
    if limit ~= -1 then
      local left = limit - used(ledger, w)
      if remaining == nil or left < remaining then
        tightest, remaining = w, left
      end
    end
  end
  if tightest == 0 then
    return {0, -1, -1, 0}
  end
  local reset = 0
  if tightest == MONTH then
    if ledger.month > 0 then
      reset = math.max(0, monthEnd - now)
    end
  elseif ledger.sums[tightest] > 0 then
    -- the window is empty one length after its latest charge
    reset = math.max(0, ledger.latestCharge + windows[tightest].lengthMillis - now)
  end
  return {tightest, ledger.limits[tightest], math.max(0, remaining), reset}
end

-- The quota with less room, the user's on a tie: what a client should pace itself by.
-- Its fifth value is the scope of the ledger it describes (0: user, 1: team).
local function tightestQuota()
  local best = quota(ledgers[1])
  best[5] = 0
  for i = 2, #ledgers do
    local other = quota(ledgers[i])
    if other[2] ~= -1 and (best[2] == -1 or other[3] < best[3]) then
      best = other
      best[5] = i - 1
    end
  end
  return best
end

-- Time until enough of this window's (or the month's) units expire for the least cost to fit;
-- when they alone never free enough (live leases hold the room) the short hint. Buckets expire in
-- the order of their index. Having read only the edges, it reads the window's buckets here (from
-- its first one up to the latest charge: at most the window's count) with one HMGET.
local function retryAfter(ledger, w)
  local need = used(ledger, w) + minimumCost - ledger.limits[w]
  if w == MONTH then
    if ledger.month >= need then
      return math.max(1, monthEnd - now)
    end
    return shortRetry
  end
  local window = windows[w]
  local first, last = ledger.firsts[w], bucketOf(window, now)
  local values
  if not ledger.full then
    if ledger.latestCharge == nil then
      return shortRetry
    end
    last = math.min(last, bucketOf(window, ledger.latestCharge))
    if first > last then
      return shortRetry
    end
    local names = {}
    for bucket = first, last do
      names[#names + 1] = bucketName(window, bucket)
    end
    values = redis.call('HMGET', ledger.key, unpack(names))
  end
  local freed = 0
  for bucket = first, last do
    local offset, tokens
    if values then
      local value = values[bucket - first + 1]
      if value then
        offset, tokens = numbers(value)
      end
    else
      local entry = ledger.counted[w][bucketName(window, bucket)]
      if entry then
        offset, tokens = entry.offset, entry.tokens
      end
    end
    if tokens then
      freed = freed + tokens
      if freed >= need then
        return expiryOf(window, bucket, offset) - now
      end
    end
  end
  return shortRetry
end

local function reject(blocking, retry, scope)
  saveAll()
  local q = tightestQuota()
  -- the in-flight count and limit of the user: what x-ratelimit-*-requests tell
  return {0, blocking, retry, q[1], q[2], q[3], q[4], ledgers[1].liveCount, scope, q[5]}
end

local least = nil
for i = 1, #ledgers do
  local left = room(ledgers[i])
  if left ~= nil and (least == nil or left < least) then
    least = left
  end
end
local granted = maxCompletion
if least ~= nil then
  granted = grantWithin(least)
end

if granted < minCompletion then
  local blocking, retry, scope = 0, -1, 0
  for i = 1, #ledgers do
    local ledger = ledgers[i]
    for w = 1, MONTH do
      local limit = ledger.limits[w]
      if limit ~= -1 and used(ledger, w) + minimumCost > limit then
        local wait = retryAfter(ledger, w)
        -- on a tie the longer window, which comes later, is the one reported; the user's before
        -- the team's
        if wait > retry or (wait == retry and (i == 1 or scope == 1)) then
          blocking, retry, scope = w, wait, i - 1
        end
      end
    end
  end
  return reject(blocking, retry, scope)
end

for i = 1, #ledgers do
  if ledgers[i].liveCount >= ledgers[i].maxConcurrent then
    return reject(0, shortRetry, i - 1)
  end
end

local reserved = costWith(granted)
for i = 1, #ledgers do
  addLease(ledgers[i], leaseId, reserved, now + leaseTtl)
end
saveAll()
local q = tightestQuota()
return {1, granted, reserved, q[1], q[2], q[3], q[4], ledgers[1].liveCount, 0, q[5]}
