-- An erasure (src/aggregate/store.ts, applyTombstone). Returns the members removed.
-- KEYS: 1 the visitor's erasure marker, 2.. the visitor hashes of every day kept
-- ARGV: 1 visitor, 2 erasure time (ms), 3 the marker's lifetime (ms)
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
local n = 0
for i = 2, #KEYS do n = n + redis.call('HDEL', KEYS[i], ARGV[1]) end
return n
