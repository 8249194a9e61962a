-- usage-index-page: one page of each period's sorted set, heaviest first, for the threshold
-- search of RedisUsageIndex. O(log N + page) per set: no set is ever read whole.
--
-- KEYS[i] the sorted set of one period of the window asked for
-- ARGV[1] offset, ARGV[2] page size
-- Returns, per key, {user, score, user, score, ...}
local first = tonumber(ARGV[1])
local last = first + tonumber(ARGV[2]) - 1
local pages = {}
for i = 1, #KEYS do
  pages[i] = redis.call('ZREVRANGE', KEYS[i], first, last, 'WITHSCORES')
end
return pages
