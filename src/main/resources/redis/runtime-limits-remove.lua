-- runtime-limits-remove: removes one user's run-time limits; bumps the version if there were any.
-- KEYS as runtime-limits-put. ARGV[1] user. Returns 1 if the user had run-time limits, else 0.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[2])
  return 1
end
return 0
