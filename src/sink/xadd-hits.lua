-- The XADDs of one hash-tag group of a batch, in one script call (src/sink/redis-stream-writer.ts).
-- KEYS[i] gets ARGV[i + 1]; ARGV[1] is MAXLEN. Same entries, same order, same fields as
-- one XADD per entry. A Redis error mid-loop leaves the XADDs before it applied (Redis
-- does not roll back a script): at-least-once, consumers dedupe by record id.
local maxlen = ARGV[1]
for i = 1, #KEYS do
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', maxlen, '*', 'v', '1', 'hit', ARGV[i + 1])
end
return #KEYS
