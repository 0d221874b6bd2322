-- Puts a revoked token or family on the denylist for ms, keeping a longer entry.
-- KEYS: 1 P d:<hash>
-- ARGV: 1 how long (ms)
-- Returns 1, or 0 when the entry there already lasts as long.
local t = redis.call('PTTL', KEYS[1])
if t >= 0 and t >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
