-- runtime-limits-put: sets one user's run-time limits and bumps the version replicas poll.
-- KEYS[1] hash user -> limits (JSON), KEYS[2] version counter; both of the hash tag
-- {runtime-limits}. ARGV[1] user, ARGV[2] limits, ARGV[3] most users the hash may hold.
-- Returns the new version, or -1 when the hash is full.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0
    and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('INCR', KEYS[2])
