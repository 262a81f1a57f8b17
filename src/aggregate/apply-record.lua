-- Counts one record, atomically with its dedupe mark (src/aggregate/store.ts, applyRecord).
-- Returns 1 applied, 0 duplicate, 2 ignored (visitor erased).
-- KEYS: 1 dedupe set of the record's hour, 2 that of the hour before, 3 the visitor's
--       erasure marker, 4 visitors:D, 5 pv:D, 6 geo:D, 7 device:D, 8 totals:D, 9 src:D
-- ARGV: 1 record id, 2 visitor ('' when none), 3 ts (ms), 4 '1' for a page view,
--       5 page, 6 geo cell, 7 device class, 8 day keys' expiry (epoch ms),
--       9 dedupe window (ms), 10 visit gap (ms), 11 source (a host, (direct) or (internal))
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[9])
local ts = tonumber(ARGV[3])
local visitor = ARGV[2]
local newVisit = false
if visitor ~= '' then
  local erased = redis.call('GET', KEYS[3])
  if erased and tonumber(erased) >= ts then return 2 end
  local last = redis.call('HGET', KEYS[4], visitor)
  if (not last) or (ts - tonumber(last) > tonumber(ARGV[10])) then newVisit = true end
  if (not last) or ts > tonumber(last) then redis.call('HSET', KEYS[4], visitor, ARGV[3]) end
  redis.call('PEXPIREAT', KEYS[4], ARGV[8])
end
redis.call('HINCRBY', KEYS[8], 'events', 1)
if ARGV[4] == '1' then
  redis.call('HINCRBY', KEYS[5], ARGV[5], 1)
  redis.call('PEXPIREAT', KEYS[5], ARGV[8])
  redis.call('HINCRBY', KEYS[8], 'pageviews', 1)
end
if newVisit then
  redis.call('HINCRBY', KEYS[6], ARGV[6], 1)
  redis.call('PEXPIREAT', KEYS[6], ARGV[8])
  redis.call('HINCRBY', KEYS[7], ARGV[7], 1)
  redis.call('PEXPIREAT', KEYS[7], ARGV[8])
  redis.call('HINCRBY', KEYS[9], ARGV[11], 1)
  redis.call('PEXPIREAT', KEYS[9], ARGV[8])
  redis.call('HINCRBY', KEYS[8], 'visits', 1)
end
redis.call('PEXPIREAT', KEYS[8], ARGV[8])
return 1
