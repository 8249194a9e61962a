-- usage-index-record: adds a request's reservation to the user's score in the usage index of each
-- window's current period (see RedisUsageIndex and docs/admin-api.md). Runs after an admission,
-- off the answer path, on keys of their own hash tag: never inside the user's scripts, whose keys
-- live in another cluster slot.
--
-- KEYS[i] the sorted set of window i's current period (member user id, score reserved tokens)
-- ARGV[1] user id, ARGV[2] reserved tokens, ARGV[3] most members a set keeps,
-- ARGV[3 + i] time to live of KEYS[i] in millis
local user, tokens, cap = ARGV[1], ARGV[2], tonumber(ARGV[3])
for i = 1, #KEYS do
  redis.call('ZINCRBY', KEYS[i], tokens, user)
  redis.call('PEXPIRE', KEYS[i], ARGV[3 + i])
  local size = redis.call('ZCARD', KEYS[i])
  if size > cap then
    -- The lightest members go first: they are the least likely to be anyone's top.
    redis.call('ZREMRANGEBYRANK', KEYS[i], 0, size - cap - 1)
  end
end
return 0
