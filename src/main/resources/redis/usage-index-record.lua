-- usage-index-record: adds the reservations a replica admitted since its last flush to each user's
-- score in the usage index of each window's current period (see RedisUsageIndex and
-- docs/admin-api.md). Sent once a second by each replica for all its users at once, off the answer
-- path, on keys of their own hash tag: never inside a user's script, whose keys live in another
-- cluster slot.
--
-- KEYS[i]        the sorted set of window i's current period (member user id, score tokens)
-- ARGV[1]        most members a set keeps
-- ARGV[1 + i]    time to live of KEYS[i] in millis
-- then pairs:    user id, reserved tokens
local cap = tonumber(ARGV[1])
local first = 2 + #KEYS
for i = 1, #KEYS do
  for j = first, #ARGV, 2 do
    redis.call('ZINCRBY', KEYS[i], ARGV[j + 1], ARGV[j])
  end
  redis.call('PEXPIRE', KEYS[i], ARGV[1 + i])
  local size = redis.call('ZCARD', KEYS[i])
  if size > cap then
    -- The lightest members go first: they are the least likely to be anyone's top.
    redis.call('ZREMRANGEBYRANK', KEYS[i], 0, size - cap - 1)
  end
end
return 0
